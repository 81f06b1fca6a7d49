export { createCa, createClusterPki, describeCertificate, issueCertificate, signedBy, type CertificateRequest, type ClusterPki, type KeyPairPem } from './pki.js';
export { renderKubeconfig, type KubeconfigInput } from './kubeconfig.js';
