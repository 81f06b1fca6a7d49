{{/* Chart name, overridable. */}}
{{- define "cx.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name; the release name alone when it already contains the chart name. */}}
{{- define "cx.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Name of one component's objects. Call with (dict "root" $ "component" "wfm"). */}}
{{- define "cx.componentName" -}}
{{- printf "%s-%s" (include "cx.fullname" .root | trunc 56 | trimSuffix "-") .component }}
{{- end }}

{{- define "cx.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cx.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "cx.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "cx.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cx
{{- end }}

{{/* Call with (dict "root" $ "component" "wfm"). */}}
{{- define "cx.componentSelectorLabels" -}}
{{ include "cx.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Call with (dict "root" $ "component" "wfm"). */}}
{{- define "cx.componentLabels" -}}
{{ include "cx.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "cx.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "cx.configMapName" -}}
{{- include "cx.fullname" . }}
{{- end }}

{{/* The Secret the services read: the user's existingSecret or the one this chart renders. */}}
{{- define "cx.secretName" -}}
{{- default (include "cx.fullname" .) .Values.existingSecret }}
{{- end }}

{{/* The Secret the migrations Job reads (see job-migrate.yaml for why it is a separate one). */}}
{{- define "cx.migrateSecretName" -}}
{{- default (printf "%s-migrate" (include "cx.fullname" . | trunc 55 | trimSuffix "-")) .Values.existingSecret }}
{{- end }}

{{/*
The secret environment of cx, base64-encoded for a Secret's data. Checks the values the way cx
itself would at start, so that a wrong value fails `helm install` instead of a crash-looping pod.
*/}}
{{- define "cx.secretData" -}}
{{- $secretKey := required "secretKey is required: at least 32 characters, e.g. --set secretKey=$(openssl rand -hex 32) (or set existingSecret)" .Values.secretKey }}
{{- if lt (len $secretKey) 32 }}{{ fail "secretKey must be at least 32 characters" }}{{ end }}
{{- $serviceToken := required "serviceToken is required: at least 32 characters, e.g. --set serviceToken=$(openssl rand -hex 32) (or set existingSecret)" .Values.serviceToken }}
{{- if lt (len $serviceToken) 32 }}{{ fail "serviceToken must be at least 32 characters" }}{{ end }}
{{- $adminPassword := required "adminPassword is required: the password of the bootstrap admin `admin`, at least 8 characters (or set existingSecret)" .Values.adminPassword }}
{{- if lt (len $adminPassword) 8 }}{{ fail "adminPassword must be at least 8 characters" }}{{ end }}
{{- $databaseUrl := required "databaseUrl is required: mysql://user:password@host:3306/database of a MySQL 8 or MariaDB server (or set existingSecret)" .Values.databaseUrl }}
{{- if not (hasPrefix "mysql://" $databaseUrl) }}{{ fail "databaseUrl must be a mysql:// URL (MySQL 8 or MariaDB): SQLite only serves the single-process embedded default" }}{{ end }}
{{- $redisUrl := required "redisUrl is required: redis://host:6379 or rediss://host:6380 (or set existingSecret)" .Values.redisUrl }}
{{- if not (regexMatch "^rediss?://" $redisUrl) }}{{ fail "redisUrl must be a redis:// or rediss:// URL" }}{{ end -}}
CX_SECRET_KEY: {{ $secretKey | b64enc | quote }}
CX_SERVICE_TOKEN: {{ $serviceToken | b64enc | quote }}
CX_ADMIN_PASSWORD: {{ $adminPassword | b64enc | quote }}
CX_DATABASE_URL: {{ $databaseUrl | b64enc | quote }}
CX_REDIS_URL: {{ $redisUrl | b64enc | quote }}
{{- range $name, $value := .Values.extraSecretEnv }}
{{ $name }}: {{ $value | toString | b64enc | quote }}
{{- end }}
{{- end }}

{{/* A map of environment variables as a container's env list. */}}
{{- define "cx.envList" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/* Scratch volumes: the root filesystem is read-only, cx writes only under /data and /tmp. */}}
{{- define "cx.scratchVolumeMounts" -}}
- name: data
  mountPath: /data
- name: tmp
  mountPath: /tmp
{{- end }}

{{- define "cx.scratchVolumes" -}}
- name: data
  emptyDir: {}
- name: tmp
  emptyDir: {}
{{- end }}

{{/*
One service's Deployment. Call with
(dict "root" $ "component" "wfm" "port" 8080 "values" .Values.wfm).
*/}}
{{- define "cx.deployment" -}}
{{- $root := .root }}
{{- $component := .component }}
{{- $values := .values }}
{{- $names := dict "root" $root "component" $component }}
{{- $sim := $values.simPersistence | default dict }}
{{- $simClaim := and (eq $component "sddc") $sim.enabled }}
{{- if and $simClaim (not $sim.existingClaim) }}
{{- fail "sddc.simPersistence.enabled needs sddc.simPersistence.existingClaim (a PersistentVolumeClaim, ReadWriteMany for more than one replica)" }}
{{- end }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "cx.componentName" $names }}
  labels:
    {{- include "cx.componentLabels" $names | nindent 4 }}
spec:
  replicas: {{ $values.replicas }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "cx.componentSelectorLabels" $names | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      # A new pod is ready before an old one goes, so a single replica keeps serving too.
      maxSurge: 1
      maxUnavailable: 0
  template:
    metadata:
      labels:
        {{- include "cx.componentLabels" $names | nindent 8 }}
      annotations:
        # Roll the pods when their configuration changes: environment is read at start only.
        checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
        checksum/secret: {{ include (print $root.Template.BasePath "/secret.yaml") $root | sha256sum }}
        {{- if $root.Values.metricsAnnotations }}
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ .port | quote }}
        prometheus.io/path: /metrics
        {{- end }}
        {{- with $values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.serviceAccountName }}
      serviceAccountName: {{ . }}
      {{- end }}
      automountServiceAccountToken: false
      # Service links would inject variables such as CX_SM_PORT=tcp://10.0.0.1:8081 for a Service
      # named cx-sm, which collide with cx's own CX_* settings.
      enableServiceLinks: false
      # Lets the BullMQ workers finish or hand back the jobs they hold.
      terminationGracePeriodSeconds: 60
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      containers:
        - name: {{ $component }}
          image: {{ include "cx.image" $root | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args: [{{ $component | quote }}]
          ports:
            - name: http
              containerPort: {{ .port }}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: {{ include "cx.configMapName" $root }}
            - secretRef:
                name: {{ include "cx.secretName" $root }}
          {{- with $values.extraEnv }}
          env:
            {{- include "cx.envList" . | trim | nindent 12 }}
          {{- end }}
          # /healthz answers while the process is alive; /readyz only while its dependencies
          # (SQL, Redis, sm) answer, so that a pod without them is taken out of its Service
          # without being restarted.
          startupProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: 2
            failureThreshold: 60
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: /readyz
              port: http
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 2
          {{- with $values.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          volumeMounts:
            {{- include "cx.scratchVolumeMounts" $root | nindent 12 }}
            {{- if $simClaim }}
            - name: sim
              mountPath: /data/sim
            {{- end }}
      volumes:
        {{- include "cx.scratchVolumes" $root | nindent 8 }}
        {{- if $simClaim }}
        - name: sim
          persistentVolumeClaim:
            claimName: {{ $sim.existingClaim }}
        {{- end }}
      {{- with $values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if $root.Values.spreadAcrossNodes }}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "cx.componentSelectorLabels" $names | nindent 14 }}
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "cx.componentSelectorLabels" $names | nindent 14 }}
      {{- end }}
{{- end }}
