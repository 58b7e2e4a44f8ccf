data "terraform_remote_state" "hypervisors" {
  backend = "http"
  config = {
    address = "https://gitlab.com/api/v4/projects/example-org%2Fplatform%2Fhomelab/terraform/state/01-hypervisors"
  }
}

locals {
  nodes = merge(
    { for i in range(var.control_plane_count) : format("k8s-prod-cp%d", i + 1) => { role = "control-plane", cores = 4, memory = 8192, host = format("pve%d", i % 3 + 1) } },
    { for i in range(var.worker_count) : format("k8s-prod-w%d", i + 1) => { role = "worker", cores = 8, memory = 32768, host = format("pve%d", i % 3 + 1) } },
  )
}

resource "proxmox_virtual_environment_vm" "node" {
  for_each = local.nodes

  name      = each.key
  node_name = each.value.host
  tags      = ["k8s", "prod", each.value.role]

  cpu {
    cores = each.value.cores
    type  = "host"
  }

  memory {
    dedicated = each.value.memory
  }

  disk {
    datastore_id = "ceph-vm"
    file_id      = data.terraform_remote_state.hypervisors.outputs.debian_12_image_ids[each.value.host]
    interface    = "virtio0"
    size         = each.value.role == "worker" ? 100 : 40
  }

  network_device {
    bridge  = "vmbr1"
    vlan_id = var.vlan_id
  }

  initialization {
    ip_config {
      ipv4 {
        address = "dhcp"
      }
    }
    user_data_file_id = "local:snippets/k8s-node-cloud-init.yaml"
  }

  operating_system {
    type = "l26"
  }

  agent {
    enabled = true
  }
}
