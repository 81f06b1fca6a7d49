/**
 * The vSphere provider of cx: VMs cloned from a template through vCenter's vim25 SOAP API
 * (docs/providers/vsphere.md). `VsphereProviderFactory` checks credentials and connects providers.
 */
import { InputError } from '@cx/errors';
import { asCredentialError } from '@cx/provider-kit';
import {
  CONTRACT_VERSION,
  type Provider,
  type ProviderCapabilities,
  type ProviderCredential,
  type ProviderFactory,
} from '@cx/sddc-contract';
import { VSPHERE_CAPABILITIES, VsphereProvider, resolvePlacement } from './provider.js';
import { SETTINGS_SCHEMA, parseSettings } from './settings.js';
import { VimClient } from './vim-client.js';

/** The provider's name, as sddc registers it. */
export const PROVIDER_NAME = 'vsphere';

export interface VsphereFactoryOptions {
  /** Kubernetes versions the templates can install, newest first. */
  kubernetesVersions?: string[];
  /** Deadline of one vSphere task (clone, power, destroy); default 10 minutes. */
  taskTimeoutMs?: number;
  /** Deadline of one SOAP request; default 30 s. */
  requestTimeoutMs?: number;
}

/** vCenter's `/sdk` URL from a credential's endpoint (`https://vc.example.com` or `…/sdk`). */
export function sdkUrl(endpoint: string): string {
  const url = new URL(endpoint);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/sdk';
  return url.toString();
}

/** Builds one vSphere `Provider` per credential, after checking the credential against vCenter. */
export class VsphereProviderFactory implements ProviderFactory {
  readonly name = PROVIDER_NAME;
  readonly contractVersion = CONTRACT_VERSION;
  readonly kubernetesVersions: readonly string[];
  readonly capabilities: ProviderCapabilities = VSPHERE_CAPABILITIES;
  readonly settingsSchema = SETTINGS_SCHEMA;
  private readonly options: VsphereFactoryOptions;

  constructor(options: VsphereFactoryOptions = {}) {
    this.options = options;
    this.kubernetesVersions = options.kubernetesVersions ?? ['1.37.2', '1.36.3'];
  }

  private client(credential: ProviderCredential): VimClient {
    return new VimClient({
      url: sdkUrl(credential.endpoint),
      username: credential.username,
      password: credential.password,
      caCert: credential.caCert ?? null,
      insecure: credential.insecure,
      timeoutMs: this.options.requestTimeoutMs,
    });
  }

  /**
   * Logs in (closed port, untrusted certificate, wrong login → `CredentialError`), then resolves
   * every inventory path of the settings (one that does not resolve → `InputError` naming
   * `body.settings.<key>`), and logs out.
   */
  async validateCredential(credential: ProviderCredential): Promise<void> {
    const settings = parseSettings(credential.settings);
    const vim = new VimClient({
      url: sdkUrl(credential.endpoint),
      username: credential.username,
      password: credential.password,
      caCert: credential.caCert ?? null,
      insecure: credential.insecure,
      timeoutMs: this.options.requestTimeoutMs ?? 15_000,
      attempts: 1,
    });
    try {
      try {
        await vim.ensureSession();
      } catch (error) {
        throw asCredentialError(error, `vCenter ${credential.endpoint}`);
      }
      await resolvePlacement(
        vim,
        settings,
        (key, message) =>
          new InputError(`vSphere setting ${key}: ${message}`, [{ field: `body.settings.${key}`, message }]),
      );
    } finally {
      await vim.close();
    }
  }

  connect(credential: ProviderCredential): Provider {
    return new VsphereProvider({
      vim: this.client(credential),
      settings: parseSettings(credential.settings),
      kubernetesVersions: this.kubernetesVersions,
      taskTimeoutMs: this.options.taskTimeoutMs,
    });
  }
}

export { VsphereProvider, antiAffinityRuleName, FIELDS } from './provider.js';
export { SETTINGS_SCHEMA, parseSettings, type VsphereSettings } from './settings.js';
export { VimClient, type MoRef } from './vim-client.js';
