terraform {
  required_version = ">= 1.9"

  backend "http" {}

  required_providers {
    proxmox = {
      source  = "bpg/proxmox"
      version = "~> 0.69"
    }
  }
}

provider "proxmox" {
  endpoint = "https://pve1.mgmt.example.com:8006/"
}
