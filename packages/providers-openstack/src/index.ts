/** The openstack provider (being written). */
export const PROVIDER_NAME = 'openstack';
