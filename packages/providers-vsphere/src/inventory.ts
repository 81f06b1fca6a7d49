/**
 * The vim25 calls the provider is built from: inventory paths, property reads over container
 * views, and tasks awaited with a deadline.
 */
import { refused } from '@cx/provider-kit';
import {
  type MoRef,
  type VimClient,
  type XmlNode,
  asMoRef,
  child,
  faultError,
  list,
  mor,
  parseFault,
  text,
  typed,
} from './vim-client.js';

/** The properties read of one object, by property path. */
export type Props = Record<string, XmlNode | undefined>;

export interface ObjectProps {
  ref: MoRef;
  props: Props;
}

/** Resolves an inventory path (`/DC0/vm/tmpl`, leading slash optional) to its object, or undefined. */
export async function findByPath(vim: VimClient, path: string): Promise<MoRef | undefined> {
  const { searchIndex } = await vim.serviceContent();
  const found = await vim.call('FindByInventoryPath', {
    _this: mor(searchIndex),
    inventoryPath: path.replace(/^\/+/, ''),
  });
  return asMoRef(found);
}

/** The child of a folder with this name (`SearchIndex.FindChild`), or undefined. */
export async function findChild(vim: VimClient, parent: MoRef, name: string): Promise<MoRef | undefined> {
  const { searchIndex } = await vim.serviceContent();
  return asMoRef(await vim.call('FindChild', { _this: mor(searchIndex), entity: mor(parent), name }));
}

function toObjects(returnval: XmlNode | undefined): ObjectProps[] {
  const out: ObjectProps[] = [];
  for (const object of list(child(returnval, 'objects'))) {
    const ref = asMoRef(child(object, 'obj'));
    if (!ref) continue;
    // An object deleted meanwhile comes back with a missingSet and no properties.
    if (list(child(object, 'missingSet')).length > 0 && list(child(object, 'propSet')).length === 0) continue;
    const props: Props = {};
    for (const prop of list(child(object, 'propSet'))) {
      const name = text(child(prop, 'name'));
      if (name) props[name] = child(prop, 'val') as XmlNode | undefined;
    }
    out.push({ ref, props });
  }
  return out;
}

async function retrieveAll(vim: VimClient, specSet: Record<string, unknown>): Promise<ObjectProps[]> {
  const { propertyCollector } = await vim.serviceContent();
  let answer = await vim.call('RetrievePropertiesEx', { _this: mor(propertyCollector), specSet, options: {} });
  const out = toObjects(answer);
  // Bounded: a page holds hundreds of objects; 1000 pages is far beyond any vCenter.
  for (let page = 0; page < 1000; page += 1) {
    const token = text(child(answer, 'token'));
    if (!token) break;
    answer = await vim.call('ContinueRetrievePropertiesEx', { _this: mor(propertyCollector), token });
    out.push(...toObjects(answer));
  }
  return out;
}

/** Properties of given objects (missing objects are left out). */
export async function retrieve(vim: VimClient, type: string, refs: MoRef[], paths: string[]): Promise<ObjectProps[]> {
  if (refs.length === 0) return [];
  try {
    return await retrieveAll(vim, {
      propSet: { type, pathSet: paths },
      objectSet: refs.map((ref) => ({ obj: mor(ref), skip: false })),
    });
  } catch (error) {
    if ((error as { details?: { fault?: string } }).details?.fault === 'ManagedObjectNotFound') return [];
    throw error;
  }
}

/** Properties of one object, or undefined when it does not exist (any more). */
export async function retrieveOne(vim: VimClient, ref: MoRef, paths: string[]): Promise<Props | undefined> {
  return (await retrieve(vim, ref.type, [ref], paths))[0]?.props;
}

/** Properties of every object of a type under a container (recursive ContainerView, destroyed after). */
export async function retrieveView(
  vim: VimClient,
  container: MoRef,
  type: string,
  paths: string[],
): Promise<ObjectProps[]> {
  const { viewManager } = await vim.serviceContent();
  const view = asMoRef(
    await vim.call('CreateContainerView', {
      _this: mor(viewManager),
      container: mor(container),
      type,
      recursive: true,
    }),
  );
  if (!view) throw refused(`${vim.label} did not create a container view`, 'EndpointFailing', { retryable: true });
  try {
    return await retrieveAll(vim, {
      propSet: { type, pathSet: paths },
      objectSet: {
        obj: mor(view),
        skip: true,
        selectSet: typed('TraversalSpec', { name: 'view', type: 'ContainerView', path: 'view', skip: false }),
      },
    });
  } finally {
    await vim.call('DestroyView', { _this: mor(view) }).catch(() => undefined);
  }
}

/**
 * Waits for a task with a deadline by polling `info`; returns `info.result`. A failed task is a
 * cx error with reason `TaskFailed` (or the fault's own mapping), carrying vSphere's message and
 * `details.fault`.
 */
export async function waitTask(
  vim: VimClient,
  task: MoRef | undefined,
  what: string,
  timeoutMs: number,
): Promise<XmlNode | undefined> {
  if (!task) throw refused(`${vim.label} started no task for ${what}`, 'EndpointFailing', { retryable: true });
  const deadline = Date.now() + timeoutMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    const info = (await retrieveOne(vim, task, ['info']))?.['info'];
    const state = text(child(info, 'state'));
    if (state === 'success') return child(info, 'result') as XmlNode | undefined;
    if (state === 'error') {
      const error = child(info, 'error');
      const fault = parseFault({
        faultstring: text(child(error, 'localizedMessage')) ?? '',
        detail: { fault: child(error, 'fault') },
      } as XmlNode);
      const mapped = faultError(vim.label, what, fault);
      if (mapped.details?.['reason'] === 'Refused') mapped.details['reason'] = 'TaskFailed';
      throw mapped;
    }
    if (Date.now() >= deadline) {
      throw refused(
        `${vim.label}: ${what} (task ${task.value}) did not finish within ${Math.round(timeoutMs / 1000)} s; it may still complete`,
        'Timeout',
        { retryable: true },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** Calls a `*_Task` method and waits for it. */
export async function runTask(
  vim: VimClient,
  method: string,
  body: Record<string, unknown>,
  timeoutMs: number,
): Promise<XmlNode | undefined> {
  const task = asMoRef(await vim.call(method, body));
  return waitTask(vim, task, method, timeoutMs);
}

/**
 * A parsed data object sent back to the server: element content and the `xsi:type` / MoRef
 * `type` attributes are kept, namespace declarations dropped.
 */
export function toWire(node: XmlNode | XmlNode[] | undefined): unknown {
  if (node === undefined || typeof node === 'string') return node;
  if (Array.isArray(node)) return node.map((n) => toWire(n));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('@_') && key !== '@_type' && key !== '@_xsi:type') continue;
    out[key] = toWire(value);
  }
  return out;
}
