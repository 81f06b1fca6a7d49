/** The baremetal provider (being written). */
export const PROVIDER_NAME = 'baremetal';
