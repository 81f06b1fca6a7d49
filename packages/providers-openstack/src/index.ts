/** The OpenStack provider of cx: Keystone v3, Nova (microversion 2.67), Neutron and Glance. */
export const PROVIDER_NAME = 'openstack';
export { KeystoneSession, type KeystoneAuth } from './keystone.js';
export {
  NOVA_MICROVERSION,
  OpenStackProvider,
  OpenStackProviderFactory,
  openStackSettingsSchema,
  parseSettings,
  type OpenStackSettings,
} from './openstack-provider.js';
