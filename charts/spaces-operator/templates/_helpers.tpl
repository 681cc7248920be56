{{/*
Labels on every object: the two kustomize puts on deploy/ (deploy/kustomization.yaml), plus
Helm's chart, instance and version labels. No app.kubernetes.io/managed-by: Helm: the webhook
configuration carries managed-by=spaces-operator (the operator's ownership lock reads it).
*/}}
{{- define "spaces-operator.labels" -}}
app.kubernetes.io/name: spaces-operator
app.kubernetes.io/part-of: spaces-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/*
Renders a file of files/ (symbolic links to deploy/: one source for both installs) into the
release namespace: every "spaces-system" becomes the release namespace, each document gets the
chart's labels (its own labels win), and `mutate` (optional) names a template that receives
(dict "root" $ "obj" $obj) to change an object before it is written.
Usage: include "spaces-operator.fromFile" (dict "root" $ "file" "files/rbac.yaml")
*/}}
{{- define "spaces-operator.fromFile" -}}
{{- $root := .root -}}
{{- $text := $root.Files.Get .file | replace "spaces-system" $root.Release.Namespace -}}
{{- if not $text }}{{ fail (printf "chart file %s is missing or empty (a broken symbolic link to deploy/?)" .file) }}{{ end -}}
{{- $labels := include "spaces-operator.labels" $root | fromYaml -}}
{{- range $doc := regexSplit "(?m)^---\\s*$" $text -1 }}
{{- $obj := fromYaml $doc }}
{{- if $obj.Error }}{{ fail (printf "%s: %s" $.file $obj.Error) }}{{ end }}
{{- if $obj.kind }}
{{- $meta := $obj.metadata }}
{{- $_ := set $meta "labels" (merge (default dict $meta.labels) $labels) }}
{{- if $.mutate }}{{ $_ := include $.mutate (dict "root" $root "obj" $obj) }}{{ end }}
---
{{ toYaml $obj }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "spaces-operator.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{- define "spaces-operator.selectorLabels" -}}
app.kubernetes.io/name: spaces-operator
app.kubernetes.io/component: operator
{{- end -}}
