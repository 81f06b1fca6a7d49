/** The vsphere provider (being written). */
export const PROVIDER_NAME = 'vsphere';
