{{/* vim: set filetype=mustache: */}}

{{/*
Chart name, truncated to 63 characters (DNS-1123 label limit).
*/}}
{{- define "parley.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Fully qualified app name, truncated to 63 characters. When the release name
already contains the chart name it is used as is.
*/}}
{{- define "parley.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Name of one component's objects: "<fullname>-<component>", truncated to 63.
Usage: include "parley.componentName" (dict "context" $ "component" "ws")
*/}}
{{- define "parley.componentName" -}}
{{- printf "%s-%s" (include "parley.fullname" .context) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "parley.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Selector labels: stable for the life of a release (Deployment selectors are immutable).
*/}}
{{- define "parley.selectorLabels" -}}
app.kubernetes.io/name: {{ include "parley.name" . }}
app.kubernetes.io/instance: {{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/*
Common labels for every object.
*/}}
{{- define "parley.labels" -}}
helm.sh/chart: {{ include "parley.chart" . }}
{{ include "parley.selectorLabels" . }}
app.kubernetes.io/version: {{ include "parley.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: parley
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Labels of one component's objects.
Usage: include "parley.componentLabels" (dict "context" $ "component" "ws")
*/}}
{{- define "parley.componentLabels" -}}
{{ include "parley.labels" .context }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
Selector labels of one component.
Usage: include "parley.componentSelectorLabels" (dict "context" $ "component" "ws")
*/}}
{{- define "parley.componentSelectorLabels" -}}
{{ include "parley.selectorLabels" .context }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
metadata.annotations of any object: commonAnnotations merged with extra ones,
and the checkov skips that apply, as an indented block that starts with a
newline (or nothing).
Usage: {{- include "parley.annotations" (dict "context" $ "extra" .Values.x.annotations "workload" false) }}
*/}}
{{- define "parley.annotations" -}}
{{- $skips := fromYaml (include "parley.checkovSkips" .) | default (dict) -}}
{{- $all := merge (deepCopy (default (dict) .extra)) (deepCopy .context.Values.commonAnnotations) $skips -}}
{{- if $all }}
{{ dict "annotations" $all | toYaml | indent 2 }}
{{- end }}
{{- end -}}

{{/*
ServiceAccount name.
*/}}
{{- define "parley.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "parley.fullname" .) .Values.serviceAccount.name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
Image tag: image.tag, or the chart's appVersion.
*/}}
{{- define "parley.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag | toString -}}
{{- end -}}

{{/*
Full image reference: repository:tag, or repository@digest when a digest is set.
*/}}
{{- define "parley.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (include "parley.imageTag" .) -}}
{{- end -}}
{{- end -}}

{{/*
Name of the Secret the running pods read: existingSecret, or the chart's own.
*/}}
{{- define "parley.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else -}}
{{- include "parley.fullname" . -}}
{{- end -}}
{{- end -}}

{{/*
Name of the Secret the migration hook reads. A pre-install hook runs before the
release's own Secret exists, so the chart makes a hook-scoped copy of it.
*/}}
{{- define "parley.migrationsSecretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else -}}
{{- include "parley.componentName" (dict "context" . "component" "migrate") -}}
{{- end -}}
{{- end -}}

{{/*
SECRET_KEY: secrets.secretKey, else the value already in the release's Secret
(kept across upgrades), else one random value shared by every template of this
render.
*/}}
{{- define "parley.secretKey" -}}
{{- if .Values.secrets.secretKey -}}
{{- .Values.secrets.secretKey -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "parley.fullname" .) -}}
{{- $key := .Values.secrets.keys.secretKey -}}
{{- if and $existing $existing.data (hasKey $existing.data $key) -}}
{{- index $existing.data $key | b64dec -}}
{{- else -}}
{{- if not (hasKey .Values.secrets "generatedSecretKey") -}}
{{- $_ := set .Values.secrets "generatedSecretKey" (randAlphaNum 64) -}}
{{- end -}}
{{- .Values.secrets.generatedSecretKey -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The data of the chart's Secret (plain text; templates b64enc it).
*/}}
{{- define "parley.secretData" -}}
{{ .Values.secrets.keys.secretKey }}: {{ include "parley.secretKey" . | b64enc | quote }}
{{ .Values.secrets.keys.databaseUrl }}: {{ .Values.secrets.databaseUrl | toString | b64enc | quote }}
{{ .Values.secrets.keys.redisUrl }}: {{ .Values.secrets.redisUrl | toString | b64enc | quote }}
{{- end -}}

{{/*
Host names from the Ingress and the HTTPRoute, as a list.
*/}}
{{- define "parley.publicHosts" -}}
{{- $hosts := list -}}
{{- if .Values.ingress.enabled -}}
{{- $hosts = concat $hosts .Values.ingress.hosts -}}
{{- end -}}
{{- if .Values.httpRoute.enabled -}}
{{- $hosts = concat $hosts .Values.httpRoute.hostnames -}}
{{- end -}}
{{- toJson (uniq $hosts) -}}
{{- end -}}

{{/*
ALLOWED_HOSTS, comma-separated.
*/}}
{{- define "parley.allowedHosts" -}}
{{- $hosts := concat .Values.config.allowedHosts (fromJsonArray (include "parley.publicHosts" .)) -}}
{{- if .Values.config.allowInternalHosts -}}
{{- $hosts = concat $hosts (list "localhost" "127.0.0.1") -}}
{{- range $component := list "ws" "web" -}}
{{- $hosts = append $hosts (include "parley.componentName" (dict "context" $ "component" $component)) -}}
{{- end -}}
{{- end -}}
{{- uniq $hosts | join "," -}}
{{- end -}}

{{/*
CSRF_TRUSTED_ORIGINS, comma-separated.
*/}}
{{- define "parley.csrfTrustedOrigins" -}}
{{- $origins := .Values.config.csrfTrustedOrigins -}}
{{- if .Values.ingress.enabled -}}
{{- $scheme := ternary "https" "http" .Values.ingress.tls.enabled -}}
{{- range .Values.ingress.hosts -}}
{{- $origins = append $origins (printf "%s://%s" $scheme .) -}}
{{- end -}}
{{- end -}}
{{- if .Values.httpRoute.enabled -}}
{{- $scheme := ternary "https" "http" .Values.httpRoute.https -}}
{{- range .Values.httpRoute.hostnames -}}
{{- $origins = append $origins (printf "%s://%s" $scheme .) -}}
{{- end -}}
{{- end -}}
{{- uniq $origins | join "," -}}
{{- end -}}

{{/*
Non-secret environment (the ConfigMap's data, and the migration hook's env).
*/}}
{{- define "parley.configData" -}}
DJANGO_SETTINGS_MODULE: {{ .Values.config.djangoSettingsModule | quote }}
ALLOWED_HOSTS: {{ include "parley.allowedHosts" . | quote }}
CSRF_TRUSTED_ORIGINS: {{ include "parley.csrfTrustedOrigins" . | quote }}
DEBUG: "false"
PORT: "8000"
LOG_LEVEL: {{ .Values.config.logLevel | quote }}
WEBSOCKET_PING_INTERVAL: {{ .Values.config.websocketPingInterval | toString | quote }}
ADMIN_ENABLED: {{ .Values.security.adminEnabled | toString | quote }}
SECURE_HSTS_SECONDS: {{ .Values.security.hstsSeconds | int64 | toString | quote }}
{{- with .Values.security.contentSecurityPolicy }}
{{- if not .enabled }}
CONTENT_SECURITY_POLICY: ""
{{- else if .policy }}
CONTENT_SECURITY_POLICY: {{ .policy | quote }}
{{- end }}
{{- end }}
{{- range $name, $value := .Values.config.extraEnv }}
{{- /* Helm reads YAML numbers as float64: print whole numbers as integers, not 1e+06. */}}
{{- if and (kindIs "float64" $value) (eq $value (float64 (int64 $value))) }}
{{ $name }}: {{ int64 $value | toString | quote }}
{{- else }}
{{ $name }}: {{ $value | toString | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Environment of every Parley container: the ConfigMap, the Secret's three keys, extras.
Usage: include "parley.env" (dict "context" $ "secretName" "..." "configFromValues" false)
*/}}
{{- define "parley.env" -}}
{{- $ctx := .context -}}
{{- if .configFromValues }}
env:
  {{- range $name, $value := fromYaml (include "parley.configData" $ctx) }}
  - name: {{ $name }}
    value: {{ $value | quote }}
  {{- end }}
{{- else }}
envFrom:
  - configMapRef:
      name: {{ include "parley.fullname" $ctx }}
  {{- with $ctx.Values.extraEnvFrom }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
env:
{{- end }}
  - name: SECRET_KEY
    valueFrom:
      secretKeyRef:
        name: {{ .secretName }}
        key: {{ $ctx.Values.secrets.keys.secretKey }}
  - name: DATABASE_URL
    valueFrom:
      secretKeyRef:
        name: {{ .secretName }}
        key: {{ $ctx.Values.secrets.keys.databaseUrl }}
  - name: REDIS_URL
    valueFrom:
      secretKeyRef:
        name: {{ .secretName }}
        key: {{ $ctx.Values.secrets.keys.redisUrl }}
  {{- with .extra }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
  {{- with $ctx.Values.extraEnv }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- if and .configFromValues $ctx.Values.extraEnvFrom }}
envFrom:
  {{- toYaml $ctx.Values.extraEnvFrom | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
Pod annotations that roll the pods when configuration or secrets change.
*/}}
{{- define "parley.checksumAnnotations" -}}
checksum/config: {{ include "parley.configData" . | sha256sum }}
{{- if .Values.secrets.existingSecret }}
checksum/secret: {{ printf "existing:%s:%s" .Values.secrets.existingSecret (toJson .Values.secrets.keys) | sha256sum }}
{{- else }}
checksum/secret: {{ include "parley.secretData" . | sha256sum }}
{{- end }}
{{- end -}}

{{/*
An httpGet probe from a values block.
Usage: include "parley.probe" (dict "probe" .Values.ws.livenessProbe "path" "/healthz" "port" "http")
*/}}
{{- define "parley.probe" -}}
httpGet:
  path: {{ .path }}
  port: {{ .port }}
  httpHeaders:
    - name: Host
      value: localhost
initialDelaySeconds: {{ .probe.initialDelaySeconds }}
periodSeconds: {{ .probe.periodSeconds }}
timeoutSeconds: {{ .probe.timeoutSeconds }}
failureThreshold: {{ .probe.failureThreshold }}
successThreshold: {{ .probe.successThreshold }}
{{- end -}}

{{/*
The preStop hook: sleep so endpoints and the Ingress drop the pod before SIGTERM.
*/}}
{{- define "parley.lifecycle" -}}
{{- if gt (int .) 0 }}
lifecycle:
  preStop:
    exec:
      command: ["sleep", {{ . | toString | quote }}]
{{- end }}
{{- end -}}

{{/*
The /tmp emptyDir (the only writable path under a read-only root filesystem).
*/}}
{{- define "parley.tmpVolume" -}}
- name: tmp
  emptyDir:
    {{- with .Values.tmpVolume.medium }}
    medium: {{ . }}
    {{- end }}
    {{- with .Values.tmpVolume.sizeLimit }}
    sizeLimit: {{ . }}
    {{- end }}
{{- end -}}

{{/*
Scheduling of one role: affinity (or the anti-affinity preset), spread, selectors.
Usage: include "parley.scheduling" (dict "context" $ "component" "ws" "values" .Values.ws)
*/}}
{{- define "parley.scheduling" -}}
{{- $ctx := .context -}}
{{- $v := .values -}}
{{- $selector := fromYaml (include "parley.componentSelectorLabels" .) -}}
{{- if $v.affinity }}
affinity:
  {{- toYaml $v.affinity | nindent 2 }}
{{- else if eq $v.podAntiAffinityPreset "hard" }}
affinity:
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- toYaml $selector | nindent 12 }}
{{- else if eq $v.podAntiAffinityPreset "soft" }}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- toYaml $selector | nindent 14 }}
{{- end }}
{{- if $v.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml $v.topologySpreadConstraints | nindent 2 }}
{{- else if $ctx.Values.topologySpread.enabled }}
topologySpreadConstraints:
  - maxSkew: {{ $ctx.Values.topologySpread.maxSkew }}
    topologyKey: {{ $ctx.Values.topologySpread.topologyKey }}
    whenUnsatisfiable: {{ $ctx.Values.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- toYaml $selector | nindent 8 }}
{{- end }}
{{- with $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $ctx.Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end -}}

{{/*
Pod-level settings shared by every Parley pod.
*/}}
{{- define "parley.podCommon" -}}
serviceAccountName: {{ include "parley.serviceAccountName" . }}
automountServiceAccountToken: false
enableServiceLinks: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{/*
An HPA metrics list for one role.
Usage: include "parley.hpaMetrics" .Values.ws.autoscaling
*/}}
{{- define "parley.hpaMetrics" -}}
{{- if not (kindIs "invalid" .targetCPUUtilizationPercentage) }}
- type: Resource
  resource:
    name: cpu
    target:
      type: Utilization
      averageUtilization: {{ .targetCPUUtilizationPercentage }}
{{- end }}
{{- if not (kindIs "invalid" .targetMemoryUtilizationPercentage) }}
- type: Resource
  resource:
    name: memory
    target:
      type: Utilization
      averageUtilization: {{ .targetMemoryUtilizationPercentage }}
{{- end }}
{{- if and .customMetric .customMetric.enabled }}
- type: Pods
  pods:
    metric:
      name: {{ .customMetric.name }}
    target:
      type: AverageValue
      averageValue: {{ .customMetric.targetAverageValue | quote }}
{{- end }}
{{- end -}}

{{/*
PDB spec for one role.
*/}}
{{- define "parley.pdbSpec" -}}
{{- if not (eq (toString .minAvailable) "") }}
minAvailable: {{ .minAvailable }}
{{- else }}
maxUnavailable: {{ .maxUnavailable }}
{{- end }}
{{- end -}}

{{/*
checkov skips (as metadata.annotations entries, each with its reason).
Usage: include "parley.checkovSkips" (dict "context" $ "workload" true)
  - CKV_K8S_21 only while rendered into "default" (helm template/lint and
    checkov render without --namespace; the chart never picks the namespace).
  - workloads: CKV_K8S_35 always; CKV_K8S_43/15 only while no image digest.
*/}}
{{- define "parley.checkovSkips" -}}
{{- $ctx := .context -}}
{{- if eq $ctx.Release.Namespace "default" }}
checkov.io/skip-ckv-k8s-21: "CKV_K8S_21=Rendered without --namespace; the release goes to the namespace of helm install -n"
{{- end }}
{{- if .workload }}
checkov.io/skip-ckv-k8s-35: "CKV_K8S_35=12-factor contract shared with Heroku: secrets arrive as env vars by secretKeyRef"
{{- if not $ctx.Values.image.digest }}
checkov.io/skip-ckv-k8s-43: "CKV_K8S_43=Default is the immutable appVersion tag; set image.digest to pin (this check then passes)"
{{- if ne $ctx.Values.image.pullPolicy "Always" }}
checkov.io/skip-ckv-k8s-15: "CKV_K8S_15=Immutable tags make IfNotPresent safe and scale-out registry-independent; a digest passes"
{{- end }}
{{- end }}
{{- end }}
{{- end -}}


{{/*
The env entry that sets a role's metrics port (METRICS_PORT), as a list for parley.env's "extra".
Usage: include "parley.metricsEnv" .Values.ws.metricsPort | fromYamlArray
*/}}
{{- define "parley.metricsEnv" -}}
- name: METRICS_PORT
  value: {{ . | toString | quote }}
{{- end -}}

{{/*
A role's NetworkPolicy: what may reach its pods (the release-wide policy denies the rest).
HTTP (ws, web) from the Ingress controller's namespaces (or anywhere with allowExternal) and the
release's helm test pod; the metrics port from Prometheus' namespaces.
Usage: include "parley.rolePolicy" (dict "context" $ "component" "ws" "http" true)
*/}}
{{- define "parley.rolePolicy" -}}
{{- $ctx := .context -}}
{{- $np := $ctx.Values.networkPolicy -}}
{{- $role := dict "context" $ctx "component" .component -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "parley.componentName" $role }}
  namespace: {{ $ctx.Release.Namespace | quote }}
  labels:
    {{- include "parley.componentLabels" $role | nindent 4 }}
  {{- include "parley.annotations" (dict "context" $ctx) }}
spec:
  podSelector:
    matchLabels:
      {{- include "parley.componentSelectorLabels" $role | nindent 6 }}
  policyTypes:
    - Ingress
  ingress:
    {{- if .http }}
    # HTTP and WebSockets.
    - ports:
        - port: http
          protocol: TCP
      {{- if not $np.allowExternal }}
      from:
        - namespaceSelector:
            {{- toYaml $np.ingressNamespaceSelector | nindent 12 }}
        - podSelector:
            matchLabels:
              {{- include "parley.componentSelectorLabels" (dict "context" $ctx "component" "test") | nindent 14 }}
      {{- end }}
    {{- end }}
    # Prometheus.
    - ports:
        - port: metrics
          protocol: TCP
      from:
        - namespaceSelector:
            {{- toYaml $np.metricsNamespaceSelector | nindent 12 }}
{{- end -}}

{{/*
A role's metrics Service (ClusterIP; the ServiceMonitor's target, never the Ingress').
Usage: include "parley.metricsService" (dict "context" $ "component" "ws" "port" 9100)
*/}}
{{- define "parley.metricsService" -}}
{{- $ctx := .context -}}
{{- $role := dict "context" $ctx "component" .component -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "parley.componentName" (dict "context" $ctx "component" (printf "%s-metrics" .component)) }}
  namespace: {{ $ctx.Release.Namespace | quote }}
  labels:
    {{- include "parley.componentLabels" $role | nindent 4 }}
  {{- include "parley.annotations" (dict "context" $ctx) }}
spec:
  type: ClusterIP
  selector:
    {{- include "parley.componentSelectorLabels" $role | nindent 4 }}
  ports:
    - name: metrics
      port: {{ .port }}
      targetPort: metrics
      protocol: TCP
{{- end -}}
