# The physical layer: what every VM in 02-platforms and 03-legacy relies on
# existing on each hypervisor.

# VLAN-aware bridge on the 2x10G bond; prod is VLAN 20, staging VLAN 30.
resource "proxmox_virtual_environment_network_linux_bridge" "vmbr1" {
  for_each = toset(var.nodes)

  node_name  = each.key
  name       = "vmbr1"
  comment    = "VM traffic (VLAN aware), managed by Terraform"
  ports      = ["bond0"]
  vlan_aware = true
  autostart  = true
}

# Cloud image every Kubernetes node is cloned from.
resource "proxmox_virtual_environment_download_file" "debian_12" {
  for_each = toset(var.nodes)

  node_name    = each.key
  datastore_id = "local"
  content_type = "iso"
  file_name    = "debian-12-genericcloud-amd64.img"
  url          = "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2"
  overwrite    = false
}

output "debian_12_image_ids" {
  value = { for node, img in proxmox_virtual_environment_download_file.debian_12 : node => img.id }
}
