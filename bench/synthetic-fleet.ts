// A generated layout-A fleet of a realistic shape and any size, for the benchmark.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";

export interface FleetSize {
  environments: number;
  /** Workloads per layer base; each is a Deployment, a Service and a ConfigMap. */
  workloadsPerLayer: number;
}

const LAYERS = [
  { name: "controllers", dir: "gitops/flux/infrastructure/controllers" },
  { name: "configs", dir: "gitops/flux/infrastructure/configs" },
  { name: "apps", dir: "gitops/flux/apps" },
] as const;

export async function writeSyntheticFleet(root: string, size: FleetSize): Promise<{ overlays: string[]; objects: number }> {
  const overlays: string[] = [];
  let objects = 0;
  const write = async (file: string, text: string) => {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), text);
  };
  for (const layer of LAYERS) {
    const resources = ["namespace.yaml"];
    await write(`${layer.dir}/base/namespace.yaml`, `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${layer.name}\n`);
    for (let i = 0; i < size.workloadsPerLayer; i += 1) {
      const name = `${layer.name}-svc-${i}`;
      resources.push(`${name}.yaml`);
      await write(`${layer.dir}/base/${name}.yaml`, workload(name, layer.name));
    }
    await write(
      `${layer.dir}/base/kustomization.yaml`,
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n${resources.map((r) => `  - ${r}`).join("\n")}\n`,
    );
    for (let e = 0; e < size.environments; e += 1) {
      const env = `env${String(e).padStart(2, "0")}`;
      const overlay = `${layer.dir}/overlays/${env}`;
      overlays.push(overlay);
      objects += 1 + size.workloadsPerLayer * 3;
      await write(
        `${overlay}/replicas-patch.yaml`,
        `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${layer.name}-svc-0\n  namespace: ${layer.name}\nspec:\n  replicas: 3\n`,
      );
      await write(
        `${overlay}/kustomization.yaml`,
        `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\nnameSuffix: -${env}\nlabels:\n  - pairs:\n      environment: ${env}\npatches:\n  - path: replicas-patch.yaml\n`,
      );
    }
  }
  await write(
    "gitops-ci.yaml",
    `apiVersion: gitops-ci/v1\nkind: Config\nlayers:\n  - name: controllers\n    path: ${LAYERS[0].dir}\n  - name: configs\n    path: ${LAYERS[1].dir}\n    dependsOn: [controllers]\n  - name: apps\n    path: ${LAYERS[2].dir}\n    dependsOn: [configs]\n`,
  );
  return { overlays, objects };
}

function workload(name: string, namespace: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${namespace}
  labels: { app.kubernetes.io/name: ${name} }
spec:
  replicas: 1
  selector:
    matchLabels: { app.kubernetes.io/name: ${name} }
  template:
    metadata:
      labels: { app.kubernetes.io/name: ${name} }
    spec:
      containers:
        - name: app
          image: registry.example.com/${name}:1.2.3
          ports: [{ containerPort: 8080, name: http }]
          resources:
            requests: { cpu: 10m, memory: 32Mi }
            limits: { memory: 64Mi }
          envFrom: [{ configMapRef: { name: ${name} } }]
---
apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  selector: { app.kubernetes.io/name: ${name} }
  ports: [{ port: 80, targetPort: http, name: http }]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  namespace: ${namespace}
data:
  LOG_LEVEL: info
`;
}
