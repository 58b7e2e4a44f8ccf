// A small layout-A fleet (two environments, three layers) that tests break one piece at a time.
import type { Tree } from "./temp-repo.ts";

const layers = {
  controllers: "gitops/flux/infrastructure/controllers",
  configs: "gitops/flux/infrastructure/configs",
  apps: "gitops/flux/apps",
} as const;

export type LayerName = keyof typeof layers;

export function layerPath(layer: LayerName): string {
  return layers[layer];
}

export function overlayPath(layer: LayerName, env: string): string {
  return `${layers[layer]}/overlays/${env}`;
}

export function smallFleet(envs: readonly string[] = ["prod", "staging"]): Tree {
  const tree: Tree = {
    [`${layers.controllers}/base/kustomization.yaml`]:
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - namespace.yaml\n  - deployment.yaml\n",
    [`${layers.controllers}/base/namespace.yaml`]: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ingress\n",
    [`${layers.controllers}/base/deployment.yaml`]: [
      "apiVersion: apps/v1",
      "kind: Deployment",
      "metadata:",
      "  name: ingress",
      "  namespace: ingress",
      "spec:",
      "  replicas: 1",
      "  selector:",
      "    matchLabels: { app: ingress }",
      "  template:",
      "    metadata:",
      "      labels: { app: ingress }",
      "    spec:",
      "      containers:",
      "        - name: controller",
      "          image: registry.example.com/ingress:1.0.0",
      "",
    ].join("\n"),
    [`${layers.configs}/base/kustomization.yaml`]:
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - configmap.yaml\n",
    [`${layers.configs}/base/configmap.yaml`]:
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ingress\ndata:\n  mode: strict\n",
    [`${layers.apps}/base/kustomization.yaml`]:
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - service.yaml\n",
    [`${layers.apps}/base/service.yaml`]:
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: ingress\nspec:\n  ports:\n    - port: 80\n",
  };
  for (const env of envs) {
    for (const layer of Object.keys(layers) as LayerName[]) {
      tree[`${overlayPath(layer, env)}/kustomization.yaml`] =
        `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\nnameSuffix: -${env}\n`;
    }
  }
  return tree;
}
