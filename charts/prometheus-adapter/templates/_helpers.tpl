{{/* The chart's short name. */}}
{{- define "prometheus-adapter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release-qualified name every object is called by. */}}
{{- define "prometheus-adapter.fullname" -}}
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

{{- define "prometheus-adapter.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride -}}
{{- end -}}

{{- define "prometheus-adapter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "prometheus-adapter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "prometheus-adapter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "prometheus-adapter.labels" -}}
helm.sh/chart: {{ include "prometheus-adapter.chart" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: metrics
app.kubernetes.io/part-of: {{ include "prometheus-adapter.name" . }}
{{ include "prometheus-adapter.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
{{- with .Values.customLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* metadata.annotations from customAnnotations, when any. */}}
{{- define "prometheus-adapter.annotations" -}}
{{- with .Values.customAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "prometheus-adapter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "prometheus-adapter.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Which APIs the rules enable (as the adapter decides from its config, §2.2). */}}
{{- define "prometheus-adapter.servesCustom" -}}
{{- if or .Values.rules.default .Values.rules.custom }}true{{ end -}}
{{- end -}}

{{- define "prometheus-adapter.servesExternal" -}}
{{- if .Values.rules.external }}true{{ end -}}
{{- end -}}

{{- define "prometheus-adapter.servesResource" -}}
{{- if .Values.rules.resource }}true{{ end -}}
{{- end -}}

{{/* spec fields shared by every APIService of this release. */}}
{{- define "prometheus-adapter.apiServiceSpec" -}}
service:
  name: {{ include "prometheus-adapter.fullname" . }}
  namespace: {{ include "prometheus-adapter.namespace" . }}
  port: {{ .Values.service.port }}
{{- if .Values.tls.enable }}
caBundle: {{ b64enc .Values.tls.ca }}
{{- else if not .Values.certManager.enabled }}
insecureSkipTLSVerify: true
{{- end }}
groupPriorityMinimum: 100
{{- end -}}
