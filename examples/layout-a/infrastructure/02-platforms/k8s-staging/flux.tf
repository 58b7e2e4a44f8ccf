# Flux is installed from here and the three reconciliation layers are declared
# here, not in the gitops/ tree: this is where dependsOn lives. Keep
# gitops-ci.yaml at the repository root in sync when layers change.

# The CNI comes first: without it no pod, Flux's included, can start. The
# cilium HelmRelease in the controllers layer adopts this release afterwards,
# so Cilium's CRDs exist before any layer is applied (see gitops-ci.yaml).
resource "helm_release" "cilium" {
  name       = "cilium"
  namespace  = "kube-system"
  repository = "https://helm.cilium.io"
  chart      = "cilium"
  version    = "1.16.5"
}

resource "helm_release" "flux" {
  depends_on       = [helm_release.cilium]
  name             = "flux2"
  namespace        = "flux-system"
  create_namespace = true
  repository       = "https://fluxcd-community.github.io/helm-charts"
  chart            = "flux2"
  version          = "2.14.1"
}

resource "kubernetes_secret" "sops_age" {
  metadata {
    name      = "sops-age"
    namespace = "flux-system"
  }
  data = {
    "age.agekey" = var.sops_age_key
  }
  depends_on = [helm_release.flux]
}

resource "kubernetes_secret" "flux_git_auth" {
  metadata {
    name      = "flux-git-auth"
    namespace = "flux-system"
  }
  data = {
    identity      = var.flux_deploy_key
    "known_hosts" = "gitlab.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAfuCHKVTjquxvt6CM6tdG4SLp1Btn/nOeHHE5UOzRdf"
  }
  depends_on = [helm_release.flux]
}

resource "kubernetes_manifest" "git_repository" {
  manifest = {
    apiVersion = "source.toolkit.fluxcd.io/v1"
    kind       = "GitRepository"
    metadata = {
      name      = "homelab"
      namespace = "flux-system"
    }
    spec = {
      interval  = "1m"
      url       = var.git_url
      ref       = { branch = var.git_branch }
      secretRef = { name = kubernetes_secret.flux_git_auth.metadata[0].name }
      # Only the cluster state; Terraform and docs never reach the cluster.
      ignore = <<-EOT
        /*
        !/gitops/flux/
      EOT
    }
  }
}

# Layer 1: CNI, cert-manager, ingress-nginx, LB IP pools.
resource "kubernetes_manifest" "flux_controllers" {
  manifest = {
    apiVersion = "kustomize.toolkit.fluxcd.io/v1"
    kind       = "Kustomization"
    metadata = {
      name      = "controllers"
      namespace = "flux-system"
    }
    spec = {
      interval      = "10m"
      retryInterval = "1m"
      timeout       = "10m"
      path          = "./gitops/flux/infrastructure/controllers/overlays/staging"
      prune         = true
      wait          = true
      sourceRef = {
        kind = "GitRepository"
        name = "homelab"
      }
    }
  }
  depends_on = [kubernetes_manifest.git_repository]
}

# Layer 2: issuers and certificates; needs the cert-manager CRDs from layer 1.
resource "kubernetes_manifest" "flux_configs" {
  manifest = {
    apiVersion = "kustomize.toolkit.fluxcd.io/v1"
    kind       = "Kustomization"
    metadata = {
      name      = "configs"
      namespace = "flux-system"
    }
    spec = {
      dependsOn     = [{ name = "controllers" }]
      interval      = "10m"
      retryInterval = "1m"
      timeout       = "5m"
      path          = "./gitops/flux/infrastructure/configs/overlays/staging"
      prune         = true
      wait          = true
      sourceRef = {
        kind = "GitRepository"
        name = "homelab"
      }
      decryption = {
        provider  = "sops"
        secretRef = { name = kubernetes_secret.sops_age.metadata[0].name }
      }
    }
  }
  depends_on = [kubernetes_manifest.flux_controllers]
}

# Layer 3: workloads.
resource "kubernetes_manifest" "flux_apps" {
  manifest = {
    apiVersion = "kustomize.toolkit.fluxcd.io/v1"
    kind       = "Kustomization"
    metadata = {
      name      = "apps"
      namespace = "flux-system"
    }
    spec = {
      dependsOn     = [{ name = "configs" }]
      interval      = "10m"
      retryInterval = "2m"
      timeout       = "25m"
      path          = "./gitops/flux/apps/overlays/staging"
      prune         = true
      wait          = true
      sourceRef = {
        kind = "GitRepository"
        name = "homelab"
      }
      decryption = {
        provider  = "sops"
        secretRef = { name = kubernetes_secret.sops_age.metadata[0].name }
      }
    }
  }
  depends_on = [kubernetes_manifest.flux_configs]
}
