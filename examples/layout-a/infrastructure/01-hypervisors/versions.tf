terraform {
  required_version = ">= 1.9"

  # GitLab-managed Terraform state, one state per directory.
  backend "http" {}

  required_providers {
    proxmox = {
      source  = "bpg/proxmox"
      version = "~> 0.69"
    }
  }
}

provider "proxmox" {
  endpoint = var.proxmox_endpoint
  # PROXMOX_VE_API_TOKEN comes from a masked CI/CD variable.
  insecure = false
}
