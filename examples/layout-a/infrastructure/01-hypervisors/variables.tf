variable "proxmox_endpoint" {
  type    = string
  default = "https://pve1.mgmt.example.com:8006/"
}

variable "nodes" {
  description = "Proxmox nodes in the cluster."
  type        = list(string)
  default     = ["pve1", "pve2", "pve3"]
}
