variable "proxmox_endpoint" {
  type    = string
  default = "https://pve1.mgmt.example.com:8006/"
}

variable "kubeconfig_path" {
  description = "Written by the cluster bootstrap (kubeadm) job; only the CI runner has it."
  type        = string
  default     = "~/.kube/k8s-prod"
}

variable "vlan_id" {
  type    = number
  default = 20
}

variable "control_plane_count" {
  type    = number
  default = 3
}

variable "worker_count" {
  type    = number
  default = 3
}

variable "git_url" {
  type    = string
  default = "ssh://git@gitlab.com/example-org/platform/homelab.git"
}

variable "git_branch" {
  type    = string
  default = "main"
}

variable "sops_age_key" {
  description = "age private key Flux decrypts secrets/ with (masked CI/CD variable TF_VAR_sops_age_key)."
  type        = string
  sensitive   = true
}

variable "flux_deploy_key" {
  description = "Read-only deploy key for var.git_url, PEM."
  type        = string
  sensitive   = true
}
