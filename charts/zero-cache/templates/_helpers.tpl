{{/* Name of the chart, overridable with nameOverride. */}}
{{- define "zero-cache.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified name: <release>-<chart>, or the release name when it already contains the chart name. */}}
{{- define "zero-cache.fullname" -}}
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

{{/* Name of one role's objects: <fullname>-<role>, kept within the 63 characters of a DNS label. */}}
{{- define "zero-cache.roleName" -}}
{{- $full := include "zero-cache.fullname" .root -}}
{{- printf "%s-%s" ($full | trunc (int (sub 62 (len .role)))) .role | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object (the app.kubernetes.io recommended labels). */}}
{{- define "zero-cache.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "zero-cache.selectorLabels" . }}
app.kubernetes.io/version: {{ include "zero-cache.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: zero-cache
{{- end -}}

{{/* Selector labels: stable across upgrades, so never add a value-dependent label here. */}}
{{- define "zero-cache.selectorLabels" -}}
app.kubernetes.io/name: {{ include "zero-cache.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of one role's objects. Call with (dict "root" $ "role" "view-syncer"). */}}
{{- define "zero-cache.roleLabels" -}}
{{ include "zero-cache.labels" .root }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{/* Selector of one role's pods. Call with (dict "root" $ "role" "view-syncer"). */}}
{{- define "zero-cache.roleSelectorLabels" -}}
{{ include "zero-cache.selectorLabels" .root }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "zero-cache.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "zero-cache.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The image tag: image.tag, or the chart's appVersion when it is empty. */}}
{{- define "zero-cache.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion | toString -}}
{{- end -}}

{{/* The image reference: repository:tag, repository:tag@digest, or repository@digest when only a digest is given. */}}
{{- define "zero-cache.image" -}}
{{- $digest := .Values.image.digest | default "" -}}
{{- if and $digest (not .Values.image.tag) -}}
{{- printf "%s@%s" .Values.image.repository $digest -}}
{{- else if $digest -}}
{{- printf "%s:%s@%s" .Values.image.repository (include "zero-cache.imageTag" .) $digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (include "zero-cache.imageTag" .) -}}
{{- end -}}
{{- end -}}

{{/*
The zero-cache version the templates target, as a semver string.
Taken from image.tag when it starts with a version (0.24.2025101500, 1.10.0-canary.3, v1.9.0,
1.9.0-alpine); otherwise (a tag such as "canary" or "latest", or only image.digest) from appVersion.
*/}}
{{- define "zero-cache.zeroVersion" -}}
{{- $pattern := "^v?[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?" -}}
{{- $fromTag := regexFind $pattern (.Values.image.tag | default "" | toString) -}}
{{- if $fromTag -}}
{{- trimPrefix "v" $fromTag -}}
{{- else -}}
{{- $fromApp := regexFind $pattern (.Chart.AppVersion | toString) -}}
{{- if not $fromApp -}}
{{- fail (printf "cannot tell the zero-cache version: neither image.tag (%q) nor the chart's appVersion (%q) starts with a semantic version" (.Values.image.tag | default "" | toString) (.Chart.AppVersion | toString)) -}}
{{- end -}}
{{- trimPrefix "v" $fromApp -}}
{{- end -}}
{{- end -}}

{{/*
Whether the targeted zero-cache version has a feature: "true" or "".
Call with (list $ "featureName"). The table below is read from zero-cache's own option
definitions (packages/zero-cache/src/config/zero-config.ts in rocicorp/mono) at its release tags.
Every bound ends in "-0" so that prereleases (1.10.0-canary.3) count as the version they precede.
*/}}
{{- define "zero-cache.has" -}}
{{- $root := index . 0 -}}
{{- $feature := index . 1 -}}
{{- $table := dict
  "changeStreamerUri" ">=0.22.2025070800-0"
  "mutateUrl" ">=0.22.2025071900-0"
  "pullUrl" "<0.22.2025071900-0"
  "queryUrl" ">=0.22.2025071900-0 <0.23.2025082300-0 || >=0.25.1-0"
  "getQueriesUrl" ">=0.23.2025082300-0 <0.25.1-0"
  "enableTelemetry" ">=0.22.2025072500-0"
  "cvrGcInactivity" ">=0.23.2025081900-0"
  "cvrGcInitial" ">=0.24.2025091100-0"
  "adminPasswordRequired" ">=0.24.2025091200-0"
  "websocketCompression" ">=0.24.3000000000-0"
  "enableQueryPlanner" ">=0.25.0-0"
  "yieldThreshold" ">=0.25.1-0"
  "replicaPageCacheSize" ">=0.25.1-0 <0.26.0-0"
  "authDeprecated" ">=0.25.1-0"
  "litestreamEndpoint" ">=0.25.7-0"
  "allowedClientHeaders" ">=0.26.0-0"
  "websocketMaxPayload" ">=0.26.0-0"
  "enableCrudMutations" ">=1.3.0-0"
  "litestreamRegion" ">=1.6.0-0"
  "allowedRequestHeaders" ">=1.8.0-0"
  "litestreamV5Backup" ">=1.10.0-0"
-}}
{{- $constraint := index $table $feature -}}
{{- if not $constraint -}}
{{- fail (printf "zero-cache chart bug: unknown feature %q" $feature) -}}
{{- end -}}
{{- if semverCompare $constraint (include "zero-cache.zeroVersion" $root) -}}true{{- end -}}
{{- end -}}

{{/* Whether a {value}/{valueFrom} secret value is set: "true" or "". */}}
{{- define "zero-cache.isSet" -}}
{{- if and (kindIs "map" .) (or .value .valueFrom) -}}true{{- end -}}
{{- end -}}

{{/*
One environment variable from a secret-like value, never as a plain value in the pod spec.
Call with (dict "root" $ "name" "ZERO_UPSTREAM_DB" "source" .Values.common.database.upstream.url "key" "upstream-db").
{value: …} reads key from the chart's Secret; {valueFrom: …} is passed through.
*/}}
{{- define "zero-cache.secretEnv" -}}
{{- if include "zero-cache.isSet" .source }}
- name: {{ .name }}
  valueFrom:
{{- if .source.valueFrom }}
    {{- toYaml .source.valueFrom | nindent 4 }}
{{- else }}
    secretKeyRef:
      name: {{ include "zero-cache.fullname" .root }}
      key: {{ .key }}
{{- end }}
{{- end }}
{{- end -}}

{{/* One plain environment variable when the value is set (not null and not ""); lists are joined with commas. */}}
{{- define "zero-cache.env" -}}
{{- $v := .value -}}
{{- if kindIs "slice" $v -}}
{{- $items := list -}}
{{- range $v }}{{ $items = append $items (include "zero-cache.string" .) }}{{ end -}}
{{- $v = join "," $items -}}
{{- end -}}
{{- if and (not (kindIs "invalid" $v)) (ne (toString $v) "") }}
{{- include "zero-cache.assertNotFlagLike" (dict "what" .name "value" $v) }}
- name: {{ .name }}
  value: {{ include "zero-cache.string" $v | quote }}
{{- end }}
{{- end -}}

{{/*
Fails for a value zero-cache cannot take: it hands its settings to worker processes as command-line
flags, parsed by command-line-args, which reads a value as a flag when it is "-" followed only by
characters that are neither digits nor "-" (-a, -abc), or starts with "--"; the worker then dies
("Expected string at …"). Call with (dict "what" <name for the message> "value" <value>).
*/}}
{{- define "zero-cache.assertNotFlagLike" -}}
{{- if regexMatch "^(-[^0-9-]+$|--[^ ]+)" (toString (.value | default "")) -}}
{{- fail (printf "%s looks like a command-line flag (\"-\" followed only by non-digits, or \"--…\"): zero-cache passes its settings to its worker processes as command-line flags, so the worker would read this value as a flag and die (\"Expected string at …\"). Choose a value that does not start with \"-\"" .what) -}}
{{- end -}}
{{- end -}}

{{/*
A value as the string an environment variable holds. Numbers from values files are float64, and
Go prints whole ones with many digits in scientific notation (20971520 → "2.097152e+07"), which
programs other than zero-cache would not read as a number: whole numbers are printed exactly.
*/}}
{{- define "zero-cache.string" -}}
{{- if and (kindIs "float64" .) (eq . (floor .)) -}}
{{- printf "%.0f" . -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/* The S3 backup URL (s3://<bucketName>/<path>), or common.litestream.backupUrl. Empty when no backup is set. */}}
{{- define "zero-cache.backupUrl" -}}
{{- if .Values.common.litestream.backupUrl -}}
{{- .Values.common.litestream.backupUrl -}}
{{- else if .Values.s3.enabled -}}
{{- printf "s3://%s/%s" .Values.s3.bucketName (.Values.s3.path | default "" | trimPrefix "/") | trimSuffix "/" -}}
{{- end -}}
{{- end -}}

{{/* Port on which the replication manager serves the change stream. */}}
{{- define "zero-cache.changeStreamerPort" -}}
{{- .Values.replicationManager.service.port | default 4849 -}}
{{- end -}}

{{/* URLs the helm test checks, space-separated. */}}
{{- define "zero-cache.testUrls" -}}
{{- $serving := include "zero-cache.servingRole" . -}}
{{- $sv := index .Values (include "zero-cache.servingValues" .) -}}
{{- $urls := list (printf "http://%s:%v/keepalive" (include "zero-cache.roleName" (dict "root" . "role" $serving)) ($sv.service.port | default 4848)) -}}
{{- if not .Values.singleNode.enabled -}}
{{- $urls = append $urls (printf "http://%s:%s/keepalive" (include "zero-cache.roleName" (dict "root" . "role" "replication-manager")) (include "zero-cache.changeStreamerPort" .)) -}}
{{- end -}}
{{- join " " $urls -}}
{{- end -}}

{{/*
The secret-like values, as JSON: {"<key in the chart's Secret>": {"path": "<value path>", "source": {value|valueFrom}}}.
The one list that secret.yaml (what to store) and validate.yaml (value xor valueFrom) read.
Read with: fromJson (include "zero-cache.secretSources" .)
*/}}
{{- define "zero-cache.secretSources" -}}
{{- $c := .Values.common -}}
{{- $out := dict -}}
{{- range $e := list
  (list "upstream-db" "common.database.upstream.url" $c.database.upstream.url)
  (list "cvr-db" "common.database.cvr.url" $c.database.cvr.url)
  (list "change-db" "common.database.change.url" $c.database.change.url)
  (list "auth-secret" "common.auth.secret" $c.auth.secret)
  (list "auth-jwk" "common.auth.jwk" $c.auth.jwk)
  (list "auth-jwks-url" "common.auth.jwksUrl" $c.auth.jwksUrl)
  (list "admin-password" "common.adminPassword" $c.adminPassword)
  (list "mutate-api-key" "common.api.mutateApiKey" $c.api.mutateApiKey)
  (list "query-api-key" "common.api.queryApiKey" $c.api.queryApiKey)
  (list "s3-access-key" "s3.accessKey" $.Values.s3.accessKey)
  (list "s3-secret-key" "s3.secretKey" $.Values.s3.secretKey)
}}
{{- $_ := set $out (index $e 0) (dict "path" (index $e 1) "source" (index $e 2 | default dict)) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* Role that serves clients: "single-node" or "view-syncer". */}}
{{- define "zero-cache.servingRole" -}}
{{- ternary "single-node" "view-syncer" .Values.singleNode.enabled -}}
{{- end -}}

{{/* Key under .Values of the role that serves clients: "singleNode" or "viewSyncer". */}}
{{- define "zero-cache.servingValues" -}}
{{- ternary "singleNode" "viewSyncer" .Values.singleNode.enabled -}}
{{- end -}}

{{/* The OpenTelemetry Collector sidecar image: repository@digest when a digest is set, else repository:tag. */}}
{{- define "zero-cache.collectorImage" -}}
{{- $i := .Values.metrics.collector.image -}}
{{- if $i.digest -}}{{ $i.repository }}@{{ $i.digest }}{{- else -}}{{ $i.repository }}:{{ $i.tag }}{{- end -}}
{{- end -}}

{{/*
The collector sidecar's configuration: OTLP/HTTP in on loopback (from the zero-cache workers), one
Prometheus endpoint out on metrics.port. Each worker's resource attributes (process.pid, …) become
labels, so the same metric from two workers is two series rather than one overwriting the other.
Components of the core distribution only (otlp receiver, batch processor, prometheus exporter).
*/}}
{{- define "zero-cache.otelCollectorConfig" -}}
{{- $m := .Values.metrics -}}
receivers:
  otlp:
    protocols:
      http:
        endpoint: {{ printf "localhost:%d" (int $m.collector.otlpPort) }}
processors:
  batch: {}
exporters:
  prometheus:
    endpoint: {{ printf "0.0.0.0:%d" (int $m.port) }}
    resource_to_telemetry_conversion:
      enabled: true
service:
  pipelines:
    metrics:
      receivers: [otlp]
      processors: [batch]
      exporters: [prometheus]
  telemetry:
    metrics:
      level: none
{{- end -}}
