/**
 * Addressing by name (DESIGN.md section 2): under the collections below, a path's `{id}` may be
 * the object's id or its unique name. It is resolved here, once per request, before the access
 * check (keyed by id) and before validation and the handler, which then only ever see the id. An
 * id comes first: `ref` is looked up as an id, then as a name. What resolves to nothing is left as
 * it came, so that an unknown id or name gives the same 404 as before.
 */
import type { FastifyRequest, RouteOptions } from 'fastify';
import { refParamSchema } from '@cx/api-schemas';
import { NotFoundError } from '@cx/errors';
import type { NamedKind, SmClient } from '@cx/sm-contract';

/** The collections whose `{id}` takes a name too, and the kind of object each holds. */
const NAMED_COLLECTIONS: Record<string, NamedKind> = {
  clusters: 'cluster',
  users: 'user',
  groups: 'group',
  'ha-configs': 'ha-config',
  'cluster-templates': 'cluster-template',
  'resource-groups': 'resource-group',
  credentials: 'credential',
  hosts: 'host',
  'ip-pools': 'ip-pool',
  pairs: 'pair',
};
const ID_SEGMENT = /^(?:\/api\/v1)?\/([a-z-]+)\/:id(?:\/|$)/;
/** Ids that resolved to themselves: an id never names another object later, so they are kept. */
const KNOWN_IDS_MAX = 50_000;
const REF = refParamSchema as unknown as { description: string; maxLength: number };

/** The kind of object a route's `{id}` names when it may be a name, else undefined. */
export function namedKindOf(url: string): NamedKind | undefined {
  const collection = ID_SEGMENT.exec(url)?.[1];
  return collection === undefined ? undefined : NAMED_COLLECTIONS[collection];
}

/** What the path named, when it was a name that resolved to another id. */
interface Resolved {
  kind: NamedKind;
  ref: string;
}

export class NameResolver {
  private readonly knownIds = new Set<string>();
  private readonly resolved = new WeakMap<FastifyRequest, Resolved>();

  constructor(private readonly sm: SmClient) {}

  /** Refuses at start a named route whose `{id}` is not documented (and validated) as an id or name. */
  checkRoute(route: RouteOptions): void {
    if (namedKindOf(route.url) === undefined) return;
    const params = route.schema?.params as { properties?: { id?: { description?: string; maxLength?: number } } };
    const id = params?.properties?.id;
    if (id?.description !== REF.description || id.maxLength !== REF.maxLength)
      throw new Error(`route ${route.method} ${route.url} takes an id or a name: its params.id must be refParamSchema`);
  }

  /** Replaces a name in `request.params.id` by the id it names (see the file's comment). */
  async resolve(request: FastifyRequest): Promise<void> {
    const kind = namedKindOf(request.routeOptions.url ?? '');
    const params = request.params as Record<string, string>;
    const ref = params['id'];
    // Too long or empty: validation answers it (400) as before; nothing to look up.
    if (kind === undefined || ref === undefined || ref.length === 0 || ref.length > REF.maxLength) return;
    if (this.knownIds.has(`${kind}/${ref}`)) return;
    const id = await this.sm.resolveName(kind, ref);
    if (id === null) return;
    if (id === ref) {
      if (this.knownIds.size >= KNOWN_IDS_MAX) this.knownIds.clear();
      this.knownIds.add(`${kind}/${ref}`);
      return;
    }
    params['id'] = id;
    this.resolved.set(request, { kind, ref });
  }

  /**
   * A 404 about an id the caller did not give (it came from their name), restated in their words:
   * a caller who may not see the object learns neither it nor its id.
   */
  restate(request: FastifyRequest, error: unknown): unknown {
    const named = this.resolved.get(request);
    if (!named || (error as { code?: string }).code !== 'CX_NOT_FOUND') return error;
    return new NotFoundError(`${named.kind} ${named.ref} does not exist or you may not see it`);
  }
}
