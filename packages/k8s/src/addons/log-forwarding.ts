/**
 * Log forwarding: fluent-bit 3.2.8 on every node tails the containers' logs, adds their pod,
 * namespace and labels, and sends them to one endpoint: Elasticsearch, a Splunk HTTP Event
 * Collector or any HTTP endpoint taking JSON. The endpoint's token never appears in the
 * configuration: it is kept in a Secret and reaches fluent-bit as an environment variable.
 */
import { clusterRole, clusterRoleBinding, configHash, namespace, serviceAccount } from './objects.js';
import type { AddonDefinition } from './types.js';

export const FLUENT_BIT_IMAGE = 'cr.fluentbit.io/fluent/fluent-bit:3.2.8';
const NS = 'cx-logging';
const SA = { namespace: NS, name: 'fluent-bit' };
const SELECTOR = { 'app.kubernetes.io/name': 'fluent-bit' };
const SECRET = 'fluent-bit-output';

export const LOG_TARGETS = ['elasticsearch', 'splunk-hec', 'http'] as const;
export interface LogForwardingSettings {
  type: (typeof LOG_TARGETS)[number];
  url: string;
  token?: string;
  username?: string;
  index?: string;
  tlsVerify: boolean;
}

/** fluent-bit's configuration (classic format); `${CX_LOG_TOKEN}` is resolved from the Secret. */
export function fluentBitConfig(settings: LogForwardingSettings, clusterName: string): string {
  const url = new URL(settings.url);
  const tls = url.protocol === 'https:';
  const port = url.port || (tls ? '443' : '80');
  const section = (name: string, entries: Array<[string, string | undefined]>): string =>
    `[${name}]\n${entries
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `    ${k.padEnd(22)} ${v}`)
      .join('\n')}\n`;
  const common: Array<[string, string | undefined]> = [
    ['Match', 'kube.*'],
    ['Host', url.hostname],
    ['Port', port],
    ['tls', tls ? 'On' : 'Off'],
    ['tls.verify', settings.tlsVerify ? 'On' : 'Off'],
    ['Retry_Limit', 'no_limits'],
  ];
  const token = settings.token === undefined ? undefined : '${CX_LOG_TOKEN}';
  const path = url.pathname === '/' ? undefined : url.pathname;
  const output = {
    elasticsearch: section('OUTPUT', [
      ['Name', 'es'],
      ...common,
      ['Path', path],
      ['Index', settings.index ?? 'kubernetes'],
      ['Suppress_Type_Name', 'On'],
      ['Replace_Dots', 'On'],
      ['HTTP_User', settings.username],
      ['HTTP_Passwd', settings.username === undefined ? undefined : token],
    ]),
    'splunk-hec': section('OUTPUT', [
      ['Name', 'splunk'],
      ...common,
      ['Splunk_Token', token],
      ['Splunk_Send_Raw', 'Off'],
      ['Event_Index', settings.index],
      ['Event_Host', clusterName],
    ]),
    http: section('OUTPUT', [
      ['Name', 'http'],
      ...common,
      ['URI', path ?? '/'],
      ['Format', 'json'],
      ['Json_Date_Key', 'timestamp'],
      ['Json_Date_Format', 'iso8601'],
      ['Header', token === undefined ? undefined : `Authorization Bearer ${token}`],
    ]),
  }[settings.type];
  return [
    section('SERVICE', [
      ['Flush', '5'],
      ['Log_Level', 'info'],
      ['Daemon', 'off'],
      ['Parsers_File', '/fluent-bit/etc/parsers.conf'],
      ['HTTP_Server', 'On'],
      ['HTTP_Listen', '0.0.0.0'],
      ['HTTP_Port', '2020'],
      ['Health_Check', 'On'],
    ]),
    section('INPUT', [
      ['Name', 'tail'],
      ['Path', '/var/log/containers/*.log'],
      ['multiline.parser', 'docker, cri'],
      ['Tag', 'kube.*'],
      ['Mem_Buf_Limit', '50MB'],
      ['Skip_Long_Lines', 'On'],
      ['DB', '/var/fluent-bit/state/flb_kube.db'],
    ]),
    section('FILTER', [
      ['Name', 'kubernetes'],
      ['Match', 'kube.*'],
      ['Merge_Log', 'On'],
      ['Keep_Log', 'Off'],
      ['K8S-Logging.Parser', 'On'],
      ['K8S-Logging.Exclude', 'On'],
    ]),
    section('FILTER', [
      ['Name', 'modify'],
      ['Match', 'kube.*'],
      ['Add', `cluster ${clusterName}`],
    ]),
    output,
  ].join('\n');
}

export const logForwarding: AddonDefinition = {
  name: 'log-forwarding',
  version: '3.2.8',
  description:
    'fluent-bit on every node forwarding container logs to Elasticsearch, a Splunk HTTP Event Collector or an HTTP endpoint.',
  secretSettings: ['token'],
  endpointSettings: ['url'],
  settingsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'url'],
    properties: {
      type: { type: 'string', enum: [...LOG_TARGETS], description: 'Kind of endpoint' },
      url: {
        type: 'string',
        pattern: '^https?://[^\\s/?#]+(/[^\\s?#]*)?$',
        maxLength: 2048,
        description:
          'Endpoint URL: http(s)://host[:port][/path]; checked against the egress policy (egress.allow / egress.deny)',
      },
      token: {
        type: 'string',
        minLength: 1,
        maxLength: 4096,
        pattern: '^[^\\s]+$',
        description:
          'Splunk HEC token, HTTP bearer token, or Elasticsearch password (with username); stored sealed, never answered',
      },
      username: {
        type: 'string',
        minLength: 1,
        maxLength: 256,
        pattern: '^[^\\s]+$',
        description: 'Elasticsearch basic-auth user (its password is token)',
      },
      index: {
        type: 'string',
        pattern: '^[a-z0-9][a-z0-9._-]{0,254}$',
        description: 'Elasticsearch index or Splunk index',
      },
      tlsVerify: { type: 'boolean', default: true, description: "Verify the endpoint's TLS certificate" },
    },
    allOf: [
      { if: { properties: { type: { const: 'splunk-hec' } } }, then: { required: ['token'] } },
      {
        if: { required: ['username'] },
        then: { required: ['token'], properties: { type: { const: 'elasticsearch' } } },
      },
    ],
  },
  render(raw, cluster) {
    const settings = raw as unknown as LogForwardingSettings;
    const config = fluentBitConfig(settings, cluster.name);
    return [
      namespace(NS),
      serviceAccount(NS, SA.name),
      clusterRole('cx-logging-fluent-bit', [
        { apiGroups: [''], resources: ['namespaces', 'pods'], verbs: ['get', 'list', 'watch'] },
      ]),
      clusterRoleBinding('cx-logging-fluent-bit', 'cx-logging-fluent-bit', SA),
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: SECRET, namespace: NS },
        type: 'Opaque',
        stringData: settings.token === undefined ? {} : { token: settings.token },
      },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'fluent-bit', namespace: NS },
        data: { 'fluent-bit.conf': config },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: 'fluent-bit', namespace: NS },
        spec: {
          selector: { matchLabels: SELECTOR },
          template: {
            metadata: {
              labels: { ...SELECTOR },
              annotations: { 'cx.dev/config-hash': configHash(config + (settings.token ?? '')) },
            },
            spec: {
              serviceAccountName: SA.name,
              nodeSelector: { 'kubernetes.io/os': 'linux' },
              tolerations: [{ operator: 'Exists' }],
              priorityClassName: 'system-node-critical',
              containers: [
                {
                  name: 'fluent-bit',
                  image: FLUENT_BIT_IMAGE,
                  imagePullPolicy: 'IfNotPresent',
                  args: ['--config=/fluent-bit/etc/conf/fluent-bit.conf'],
                  env: [
                    {
                      name: 'CX_LOG_TOKEN',
                      valueFrom: { secretKeyRef: { name: SECRET, key: 'token', optional: true } },
                    },
                  ],
                  ports: [{ name: 'http', containerPort: 2020, protocol: 'TCP' }],
                  livenessProbe: { httpGet: { path: '/', port: 'http' } },
                  readinessProbe: { httpGet: { path: '/api/v1/health', port: 'http' } },
                  resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
                  volumeMounts: [
                    { name: 'config', mountPath: '/fluent-bit/etc/conf', readOnly: true },
                    { name: 'varlog', mountPath: '/var/log', readOnly: true },
                    { name: 'state', mountPath: '/var/fluent-bit/state' },
                  ],
                },
              ],
              volumes: [
                { name: 'config', configMap: { name: 'fluent-bit' } },
                { name: 'varlog', hostPath: { path: '/var/log' } },
                { name: 'state', hostPath: { path: '/var/lib/cx-fluent-bit', type: 'DirectoryOrCreate' } },
              ],
            },
          },
        },
      },
    ];
  },
};
