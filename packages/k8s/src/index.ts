export { createCa, createClusterPki, describeCertificate, issueCertificate, signedBy, type CertificateRequest, type ClusterPki, type KeyPairPem } from './pki.js';
export { renderKubeconfig, type KubeconfigInput } from './kubeconfig.js';
export { bootstrapToken, caCertHash, renderCloudInit, renderKubeadmConfig, type KubeadmMachine, type KubeadmRole } from './kubeadm.js';
export { checkKeepalivedSpec, KEEPALIVED_PROFILES, KeepalivedSpecError, renderKeepalivedConfig, vipOrder, type KeepalivedProfile, type KeepalivedSpec, type VipNode } from './keepalived.js';
export { APISERVER_PORT, controlPlaneVipFiles, VIP_API_PORT, vipRouterId, type ControlPlaneVip, type StaticFile } from './control-plane-vip.js';
