{{/* One probe from its values: {enabled, path, initialDelaySeconds, periodSeconds, timeoutSeconds, failureThreshold, successThreshold}. */}}
{{- define "zero-cache.probe" -}}
{{- $p := .probe -}}
httpGet:
  path: {{ $p.path | default "/keepalive" }}
  port: {{ .port }}
{{- range $k := list "initialDelaySeconds" "periodSeconds" "timeoutSeconds" "failureThreshold" "successThreshold" }}
{{- if hasKey $p $k }}
{{ $k }}: {{ index $p $k }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Pod template of one role. Call with (dict "root" $ "role" <role> "values" <role values> "claim" <PVC name or "">).
Shared by the single-node Deployment and the two StatefulSets, so every role gets the same
security context, probes, drain and checksum behaviour.
*/}}
{{- define "zero-cache.podTemplate" -}}
{{- $root := .root -}}
{{- $v := .values -}}
{{- $rm := eq .role "replication-manager" -}}
{{- $portName := ternary "change-stream" "http" $rm -}}
{{- $port := ternary (include "zero-cache.changeStreamerPort" $root | int) ($v.service.port | default 4848 | int) $rm -}}
metadata:
  labels:
    {{- include "zero-cache.roleSelectorLabels" . | nindent 4 }}
    {{- with $v.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/secret: {{ include (print $root.Template.BasePath "/secret.yaml") $root | sha256sum }}
    {{- if $root.Values.metrics.enabled }}
    checksum/otel-collector: {{ include "zero-cache.otelCollectorConfig" $root | sha256sum }}
    {{- end }}
    {{- with $v.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  serviceAccountName: {{ include "zero-cache.serviceAccountName" $root }}
  automountServiceAccountToken: {{ $root.Values.serviceAccount.automountServiceAccountToken }}
  {{- with $v.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds | default 600 }}
  securityContext:
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
  {{- if eq .role "view-syncer" }}
  initContainers:
    # Waits until the replication manager answers /keepalive, so view syncers never start
    # (and crash-loop) before the change stream exists. Uses the zero-cache image's own node.
    - name: wait-for-replication-manager
      image: {{ include "zero-cache.image" $root | quote }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      command:
        - node
        - -e
        - |
          const url = process.env.TARGET_URL;
          const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
          (async () => {
            for (;;) {
              try {
                const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
                if (res.ok) { console.log(`replication manager is up: ${url}`); return; }
                console.log(`waiting for the replication manager: ${url} answered ${res.status}`);
              } catch (e) {
                console.log(`waiting for the replication manager: ${url}: ${e.message}`);
              }
              await sleep(5000);
            }
          })();
      env:
        - name: TARGET_URL
          value: {{ printf "http://%s:%s/keepalive" (include "zero-cache.roleName" (dict "root" $root "role" "replication-manager")) (include "zero-cache.changeStreamerPort" $root) | quote }}
      securityContext:
        {{- toYaml $root.Values.securityContext | nindent 8 }}
      resources:
        {{- toYaml $root.Values.initContainerResources | nindent 8 }}
  {{- end }}
  containers:
    - name: zero-cache
      image: {{ include "zero-cache.image" $root | quote }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      securityContext:
        {{- toYaml $root.Values.securityContext | nindent 8 }}
      ports:
        - name: {{ $portName }}
          containerPort: {{ $port }}
          protocol: TCP
      env:
        {{- include "zero-cache.containerEnv" . | trim | nindent 8 }}
      {{- with (include "zero-cache.containerEnvFrom" . | trim) }}
      {{- . | nindent 6 }}
      {{- end }}
      {{- if $v.startupProbe.enabled }}
      startupProbe:
        {{- include "zero-cache.probe" (dict "probe" $v.startupProbe "port" $portName) | nindent 8 }}
      {{- end }}
      {{- if $v.readinessProbe.enabled }}
      readinessProbe:
        {{- include "zero-cache.probe" (dict "probe" $v.readinessProbe "port" $portName) | nindent 8 }}
      {{- end }}
      {{- if $v.livenessProbe.enabled }}
      livenessProbe:
        {{- include "zero-cache.probe" (dict "probe" $v.livenessProbe "port" $portName) | nindent 8 }}
      {{- end }}
      {{- if gt (int ($v.preStopSleepSeconds | default 0)) 0 }}
      lifecycle:
        preStop:
          # Keeps serving while endpoints and load balancers drop the pod, so in-flight clients move over.
          exec:
            command: ["sh", "-c", "sleep {{ $v.preStopSleepSeconds }}"]
      {{- end }}
      resources:
        {{- toYaml ($v.resources | default dict) | nindent 8 }}
      volumeMounts:
        - name: data
          mountPath: {{ $root.Values.dataMountPath }}
        - name: tmp
          mountPath: /tmp
        {{- with $v.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    {{- with $root.Values.metrics }}
    {{- if .enabled }}
    # Receives every worker's OTLP metrics on loopback and serves them together for Prometheus.
    - name: otel-collector
      image: {{ include "zero-cache.collectorImage" $root | quote }}
      imagePullPolicy: {{ .collector.image.pullPolicy }}
      args: ["--config=/etc/otelcol/config.yaml"]
      securityContext:
        {{- toYaml $root.Values.securityContext | nindent 8 }}
      ports:
        - name: metrics
          containerPort: {{ .port }}
          protocol: TCP
      readinessProbe:
        tcpSocket:
          port: metrics
        periodSeconds: 10
      livenessProbe:
        tcpSocket:
          port: metrics
        periodSeconds: 20
        failureThreshold: 6
      resources:
        {{- toYaml (.collector.resources | default dict) | nindent 8 }}
      volumeMounts:
        - name: otel-collector-config
          mountPath: /etc/otelcol
          readOnly: true
    {{- end }}
    {{- end }}
  volumes:
    - name: tmp
      emptyDir: {}
    {{- if $root.Values.metrics.enabled }}
    - name: otel-collector-config
      configMap:
        name: {{ printf "%s-otel-collector" (include "zero-cache.fullname" $root) }}
    {{- end }}
    {{- if not $v.persistence.enabled }}
    - name: data
      {{- with $v.persistence.emptyDirSizeLimit }}
      emptyDir:
        sizeLimit: {{ . }}
      {{- else }}
      emptyDir: {}
      {{- end }}
    {{- else if .claim }}
    - name: data
      persistentVolumeClaim:
        claimName: {{ .claim }}
    {{- end }}
    {{- with $v.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $v.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if kindIs "invalid" $v.topologySpreadConstraints }}
  {{- if eq .role "view-syncer" }}
  # Spread view syncers across nodes (and zones where the nodes have zone labels) by default.
  topologySpreadConstraints:
    - maxSkew: 1
      topologyKey: kubernetes.io/hostname
      whenUnsatisfiable: ScheduleAnyway
      labelSelector:
        matchLabels:
          {{- include "zero-cache.roleSelectorLabels" . | nindent 10 }}
    - maxSkew: 1
      topologyKey: topology.kubernetes.io/zone
      whenUnsatisfiable: ScheduleAnyway
      labelSelector:
        matchLabels:
          {{- include "zero-cache.roleSelectorLabels" . | nindent 10 }}
  {{- end }}
  {{- else if $v.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml $v.topologySpreadConstraints | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* volumeClaimTemplates entry for a StatefulSet role with persistence. */}}
{{- define "zero-cache.claimTemplate" -}}
{{- $p := .values.persistence -}}
- metadata:
    name: data
    labels:
      {{- include "zero-cache.roleSelectorLabels" . | nindent 6 }}
    {{- with $p.annotations }}
    annotations:
      {{- toYaml . | nindent 6 }}
    {{- end }}
  spec:
    accessModes:
      - {{ $p.accessMode | default "ReadWriteOnce" }}
    {{- if $p.storageClass }}
    {{- if eq "-" $p.storageClass }}
    storageClassName: ""
    {{- else }}
    storageClassName: {{ $p.storageClass | quote }}
    {{- end }}
    {{- end }}
    volumeMode: Filesystem
    resources:
      requests:
        storage: {{ $p.size | default "10Gi" | quote }}
{{- end -}}

{{/* persistentVolumeClaimRetentionPolicy of a StatefulSet role: the explicit policy, else derived from persistence.retainPolicy. */}}
{{- define "zero-cache.retentionPolicy" -}}
{{- $explicit := .values.persistentVolumeClaimRetentionPolicy | default dict -}}
{{- $legacy := .values.persistence.retainPolicy | default "Delete" -}}
whenDeleted: {{ $explicit.whenDeleted | default $legacy }}
whenScaled: {{ $explicit.whenScaled | default "Delete" }}
{{- end -}}
