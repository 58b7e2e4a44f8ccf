// A small three-layer fleet whose every name is unique to one test, so tests can share the cluster:
// its Namespace, and its Flux Kustomizations (`<id>-<layer>`, the owner labels prune looks for).
import type { Tree } from "../helpers/temp-repo.ts";

export interface ClusterFleetOptions {
  id: string;
  /** Value of the Secret `credentials` (stringData.password). */
  password?: string;
  kubeContext?: string;
}

export function clusterFleet(options: ClusterFleetOptions): Tree {
  const { id } = options;
  const overlay = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\n";
  return {
    "gitops-ci.yaml": [
      "apiVersion: gitops-ci/v1",
      "kind: Config",
      "layers:",
      "  - name: controllers",
      "    path: gitops/controllers",
      "  - name: configs",
      "    path: gitops/configs",
      "    dependsOn: [controllers]",
      "  - name: apps",
      "    path: gitops/apps",
      "    dependsOn: [configs]",
      "environments:",
      "  - name: test",
      `    kubeContext: ${options.kubeContext ?? "gitops-ci-local"}`,
      "flux:",
      `  kustomizationName: "${id}-{layer}"`,
      "",
    ].join("\n"),
    "gitops/controllers/base/kustomization.yaml":
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - namespace.yaml\n  - deployment.yaml\n",
    "gitops/controllers/base/namespace.yaml": `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${id}\n`,
    "gitops/controllers/base/deployment.yaml": [
      "apiVersion: apps/v1",
      "kind: Deployment",
      "metadata:",
      "  name: web",
      `  namespace: ${id}`,
      "spec:",
      "  replicas: 1",
      "  selector:",
      "    matchLabels: { app: web }",
      "  template:",
      "    metadata:",
      "      labels: { app: web }",
      "    spec:",
      "      containers:",
      "        - name: web",
      "          image: registry.example.com/web:1.0.0",
      "",
    ].join("\n"),
    "gitops/controllers/overlays/test/kustomization.yaml": overlay,
    "gitops/configs/base/kustomization.yaml":
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - settings.yaml\n  - credentials.yaml\n",
    "gitops/configs/base/settings.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ${id}\ndata:\n  mode: strict\n`,
    "gitops/configs/base/credentials.yaml": `apiVersion: v1\nkind: Secret\nmetadata:\n  name: credentials\n  namespace: ${id}\ntype: Opaque\nstringData:\n  password: ${options.password ?? "initial-password-value"}\n  username: admin\n`,
    "gitops/configs/overlays/test/kustomization.yaml": overlay,
    "gitops/apps/base/kustomization.yaml":
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - service.yaml\n  - legacy.yaml\n",
    "gitops/apps/base/service.yaml": `apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: ${id}\nspec:\n  selector: { app: web }\n  ports:\n    - port: 80\n`,
    "gitops/apps/base/legacy.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: legacy\n  namespace: ${id}\ndata:\n  old: "true"\n`,
    "gitops/apps/overlays/test/kustomization.yaml": overlay,
  };
}

/** A namespaced CRD `Widget` of the given group, with `spec.size`. */
export function widgetCrd(group: string): string {
  return [
    "apiVersion: apiextensions.k8s.io/v1",
    "kind: CustomResourceDefinition",
    "metadata:",
    `  name: widgets.${group}`,
    "spec:",
    `  group: ${group}`,
    "  scope: Namespaced",
    "  names: { plural: widgets, singular: widget, kind: Widget, listKind: WidgetList }",
    "  versions:",
    "    - name: v1",
    "      served: true",
    "      storage: true",
    "      schema:",
    "        openAPIV3Schema:",
    "          type: object",
    "          properties:",
    "            spec:",
    "              type: object",
    "              properties:",
    "                size: { type: integer }",
    "",
  ].join("\n");
}
