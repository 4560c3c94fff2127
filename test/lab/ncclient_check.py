# python3-ncclient (Debian) against the twin's device agent: an independent NETCONF client.
# Usage: ncclient_check.py HOST USER PASSWORD ; prints one JSON line of findings.
import json
import subprocess
import sys

from ncclient import manager
from ncclient.operations import RPCError

host, user, password = sys.argv[1:4]
out = {}
m = manager.connect(host=host, port=830, username=user, password=password, hostkey_verify=False,
                    allow_agent=False, look_for_keys=False, timeout=60)
caps = list(m.server_capabilities)
out['base11'] = 'urn:ietf:params:netconf:base:1.1' in caps
out['frrCapability'] = any(c.startswith('urn:fabric:frr') for c in caps)
running = m.get_config('running').data_ele
out['emptyRunning'] = len(running) == 0

conf = """<config><frr xmlns="urn:fabric:frr"><frr-conf>router bgp 65102
 bgp router-id 10.255.0.12
 no bgp ebgp-requires-policy
 neighbor 10.254.0.2 remote-as 65001
exit
</frr-conf><interfaces></interfaces></frr></config>"""
with m.locked('candidate'):
    m.edit_config(target='candidate', config=conf)
    m.commit()
running = m.get_config('running').data_xml
out['committed'] = 'neighbor 10.254.0.2 remote-as 65001' in running

try:
    m.edit_config(target='candidate', config='<config><frr xmlns="urn:fabric:frr"><frr-conf>router bgp 65102\n neighbor 10.254.0.2 remote-ass 1\n</frr-conf></frr></config>')
    m.validate(source='candidate')
    out['rpcError'] = 'none'
except RPCError as e:
    out['rpcError'] = {'tag': e.tag, 'messageHas': 'line 2' if 'line 2' in (e.message or '') else e.message}
try:
    m.edit_config(target='candidate', config='<config><system xmlns="urn:example:other"><x>1</x></system></config>')
    m.validate(source='candidate')
    out['unknownElement'] = 'none'
except RPCError as e:
    out['unknownElement'] = e.tag
m.discard_changes()
out['discarded'] = m.get_config('candidate').data_xml == m.get_config('running').data_xml
m.close_session()
print(json.dumps(out))
