#!/bin/sh
# Converge this host from the bundle this script sits in (the first-boot agent runs it):
#   converge <role> <release> <instance id>
# ansible-core from PyPI at the versions the bundle names, with the collections the bundle carries,
# then playbooks/self-converge.yml with this host alone in the inventory, in its role's group,
# beside the stack's group_vars (the bundle holds one inventory: AWS's, or the lab's).
set -eu
role=$1
release=$2
instance_id=$3
here=$(cd "$(dirname "$0")" && pwd)
inventory=$(ls "$here/playbooks/inventories")
python3 -m venv /opt/shop/ansible
/opt/shop/ansible/bin/pip install --quiet --requirement "$here/requirements.txt"
printf '[%s]\nlocalhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n' \
  "$role" > "$here/playbooks/inventories/$inventory/self.ini"
cd "$here/playbooks"
export ANSIBLE_COLLECTIONS_PATH="$here/collections"
exec /opt/shop/ansible/bin/ansible-playbook -i "inventories/$inventory/self.ini" self-converge.yml \
  -e "shop_release=$release" -e "instance_id=$instance_id"
