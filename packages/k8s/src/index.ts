export {
  createCa,
  createClusterPki,
  createServiceAccountKeyPair,
  describeCertificate,
  issueCertificate,
  signedBy,
  type CertificateRequest,
  type ClusterPki,
  type KeyPairPem,
} from './pki.js';
export { renderKubeconfig, type KubeconfigInput } from './kubeconfig.js';
export {
  bootstrapToken,
  caCertHash,
  CONTROL_PLANE_TAINT,
  KUBEADM_ATTEMPTS,
  renderBootstrapScript,
  renderCloudInit,
  renderKubeadmConfig,
  takesWorkloads,
  type KubeadmMachine,
  type KubeadmRole,
} from './kubeadm.js';
export {
  checkKeepalivedSpec,
  KEEPALIVED_PROFILES,
  KeepalivedSpecError,
  renderKeepalivedConfig,
  vipOrder,
  type KeepalivedProfile,
  type KeepalivedSpec,
  type VipNode,
} from './keepalived.js';
export {
  APISERVER_PORT,
  UNICAST_SCRIPT,
  UNICAST_TEMPLATE,
  addressPlaceholder,
  controlPlaneVipFiles,
  kubeVipFiles,
  unicastStartScript,
  VIP_API_PORT,
  vipRouterId,
  type ControlPlaneVip,
  type KubeVipSpec,
  type StaticFile,
  type VipManager,
} from './control-plane-vip.js';
export {
  ADDONS,
  addonWorkloads,
  checkAddonSettings,
  findAddon,
  isNetworkAddon,
  renderAddon,
  splitSecretSettings,
  type SettingError,
  type SettingsCheck,
} from './addons/catalog.js';
export {
  ADDON_LABEL,
  MANAGED_BY_LABEL,
  addonLabels,
  type AddonCluster,
  type AddonDefinition,
  type KubernetesObject,
} from './addons/types.js';
export { DASHBOARD_ACCOUNTS, DASHBOARD_NAMESPACE, DASHBOARD_PROXY_PATH } from './addons/dashboard.js';
export {
  DEFAULT_EGRESS_DENY,
  EgressPolicy,
  type EgressRules,
  type EgressVerdict,
  type Resolver,
} from './addons/endpoint-policy.js';
