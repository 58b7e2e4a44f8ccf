# Systems that predate the Kubernetes clusters and are not worth migrating.

# Internal DNS (split horizon for *.example.com) and DHCP for VLANs 20/30.
resource "proxmox_virtual_environment_container" "dns" {
  node_name     = "pve1"
  vm_id         = 110
  description   = "bind9 + kea; zone files in ansible/roles/dns (legacy)"
  start_on_boot = true
  unprivileged  = true

  initialization {
    hostname = "dns1"
    ip_config {
      ipv4 {
        address = "10.10.0.53/24"
        gateway = "10.10.0.1"
      }
    }
  }

  cpu {
    cores = 1
  }

  memory {
    dedicated = 512
  }

  disk {
    datastore_id = "local-zfs"
    size         = 8
  }

  network_interface {
    name   = "eth0"
    bridge = "vmbr0"
  }

  operating_system {
    template_file_id = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
    type             = "debian"
  }
}

# Home Assistant OS appliance: USB passthrough, stays a plain VM.
resource "proxmox_virtual_environment_vm" "home_assistant" {
  name      = "haos"
  node_name = "pve2"
  vm_id     = 120
  tags      = ["legacy"]

  bios = "ovmf"

  cpu {
    cores = 2
  }

  memory {
    dedicated = 4096
  }

  disk {
    datastore_id = "local-zfs"
    interface    = "scsi0"
    size         = 32
  }

  network_device {
    bridge = "vmbr0"
  }

  usb {
    host = "10c4:ea60"
  }
}
