#!/usr/bin/env python3
"""TEST DOUBLE of the OpenStack Compute (Nova), Image (Glance) and Network (Neutron) APIs.

Not a real Nova/Neutron: it exists because a real Nova needs placement, glance, neutron, a message
queue and a database, too heavy for the test machines. It implements exactly the subset of the
OpenStack API reference that @cx/providers-openstack calls, and it validates the Keystone token of
EVERY request against the REAL Keystone (GET /v3/auth/tokens with X-Subject-Token), so that
authentication, scoping, revocation and renewal are real. State is in memory, per project.

  compute-network-double.py --port PORT --keystone http://127.0.0.1:KPORT/v3 --network NAME [--floating-network NAME]
Networks: NAME (10.20.0.0/24, the machines' network) and the external network --floating-network
(router:external, 203.0.113.0/24, routed to NAME) that floating IPs come from.
Paths: /compute/v2.1/...  /image/v2/...  /network/v2.0/...   (loopback only)
"""
import argparse
import base64
import ipaddress
import json
import re
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

MIN_MICRO, MAX_MICRO = (2, 1), (2, 90)
STATE_DELAY = 1.0  # seconds a BUILD, power or reboot transition takes
HOSTS = 3  # compute hosts the double pretends to schedule on (anti-affinity fails beyond)
LOCK = threading.RLock()
ARGS = None

FLAVORS = [
    {"id": "f-small", "name": "m1.small", "vcpus": 1, "ram": 2048, "disk": 20},
    {"id": "f-medium", "name": "m1.medium", "vcpus": 2, "ram": 4096, "disk": 40},
    {"id": "f-large", "name": "m1.large", "vcpus": 4, "ram": 8192, "disk": 80},
    {"id": "f-xlarge", "name": "m1.xlarge", "vcpus": 8, "ram": 16384, "disk": 160},
]
IMAGES = [{"id": "5b2e7a53-5a9c-4d39-9d53-0f1c3b0a7e11", "name": "ubuntu-24.04-cloudinit", "status": "active", "visibility": "public"}]
NETWORK = {"id": "8a3c1a2e-2f0c-4d5e-9a55-6c3c4a9b1f01", "subnet": "b1f0a0c2-7c9e-4b7c-8f6d-2b8a1b7f0a11", "cidr": "10.20.0.0/24"}
# The external network floating IPs come from, and the router that joins it to NETWORK.
EXTERNAL = {"id": "e7b0c6d4-1f3a-4c8e-9b2d-5a6f7e8d9c01", "subnet": "c2d4e6f8-0a1b-4c3d-8e5f-7a9b0c1d2e31", "cidr": "203.0.113.0/24"}
ROUTER_ID = "a9d8c7b6-5e4f-4a3b-8c2d-1e0f9a8b7c61"

# project id -> {"servers": {}, "ports": {}, "groups": {}, "sgs": {}, "rules": {}, "fips": {}}
PROJECTS = {}
NEXT_IP = {"n": 10}


def project_state(pid):
    return PROJECTS.setdefault(pid, {"servers": {}, "ports": {}, "groups": {}, "sgs": {}, "rules": {}, "fips": {}})


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def validate_token(token):
    """The project id of a valid project-scoped token, asked of the real Keystone; None if invalid."""
    request = urllib.request.Request(ARGS.keystone.rstrip("/") + "/auth/tokens",
                                     headers={"X-Auth-Token": token, "X-Subject-Token": token})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            body = json.load(answer)
    except urllib.error.HTTPError:
        return None
    project = body.get("token", {}).get("project")
    return project["id"] if project else None


def settle(server):
    """Applies a pending state change once its delay has passed (the double's 'hypervisor')."""
    pending = server.get("_pending")
    if pending and time.time() >= pending[0]:
        server["status"], server["OS-EXT-STS:power_state"] = pending[1], pending[2]
        server["OS-EXT-STS:task_state"] = None
        server["OS-EXT-STS:vm_state"] = {"ACTIVE": "active", "SHUTOFF": "stopped"}.get(pending[1], "error")
        server["updated"] = now_iso()
        server["_pending"] = None


def server_addresses(server, state):
    """Nova's `addresses`: the fixed IPs of the ports bound to the server, each followed by the
    floating IP associated with it (`OS-EXT-IPS:type` fixed / floating), keyed by network name."""
    addresses = {}
    for port in state["ports"].values():
        if port["device_id"] != server["id"]:
            continue
        entries = addresses.setdefault(ARGS.network, [])
        for ip in port["fixed_ips"]:
            entries.append({"version": 4, "addr": ip["ip_address"], "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]})
            entries.extend({"version": 4, "addr": fip["floating_ip_address"], "OS-EXT-IPS:type": "floating", "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]}
                           for fip in state["fips"].values() if fip["port_id"] == port["id"] and fip["fixed_ip_address"] == ip["ip_address"])
    return addresses


def public_server(server, micro, state):
    settle(server)
    out = {k: v for k, v in server.items() if not k.startswith("_")}
    out["addresses"] = server_addresses(server, state)
    if micro < (2, 3):
        out.pop("OS-EXT-SRV-ATTR:user_data", None)
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cx-openstack-double/1"

    def log_message(self, fmt, *args):  # stderr, without tokens (none are in request lines)
        sys.stderr.write("double: " + (fmt % args) + "\n")

    def answer(self, status, body=None, headers=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, kind, message, headers=None):
        self.answer(status, {kind: {"code": status, "message": message}}, headers)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        try:
            return json.loads(self.rfile.read(length))
        except ValueError:
            return None

    def do_GET(self): self.route("GET")
    def do_POST(self): self.route("POST")
    def do_PUT(self): self.route("PUT")
    def do_DELETE(self): self.route("DELETE")

    def route(self, method):
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = self.read_body() if method in ("POST", "PUT") else {}
        if body is None:
            return self.error(400, "badRequest", "Malformed request body")
        token = self.headers.get("X-Auth-Token")
        project = validate_token(token) if token else None
        if not project:
            return self.answer(401, {"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}},
                               {"WWW-Authenticate": 'Keystone uri="%s"' % ARGS.keystone})
        with LOCK:
            state = project_state(project)
            path = url.path.rstrip("/")
            if path.startswith("/compute/v2.1"):
                return self.compute(method, path[len("/compute/v2.1"):], query, body, state)
            if path.startswith("/image/v2"):
                return self.image(method, path[len("/image/v2"):], query)
            if path.startswith("/network/v2.0"):
                return self.network(method, path[len("/network/v2.0"):], query, body, state)
        return self.error(404, "itemNotFound", "No such API")

    # ---- Nova -------------------------------------------------------------------------------
    def microversion(self):
        raw = self.headers.get("OpenStack-API-Version") or ""
        match = re.match(r"^\s*compute\s+(\S+)\s*$", raw) if raw else None
        legacy = self.headers.get("X-OpenStack-Nova-API-Version")
        text = match.group(1) if match else (legacy or "2.1")
        if text == "latest":
            return MAX_MICRO
        parts = text.split(".")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            return None
        version = (int(parts[0]), int(parts[1]))
        return version if MIN_MICRO <= version <= MAX_MICRO else None

    def compute(self, method, path, query, body, state):
        micro = self.microversion()
        if micro is None:
            return self.error(406, "computeFault", "Version not supported (%d.%d - %d.%d)" % (MIN_MICRO + MAX_MICRO))
        vh = {"OpenStack-API-Version": "compute %d.%d" % micro, "Vary": "OpenStack-API-Version"}
        parts = [p for p in path.split("/") if p]
        servers, groups = state["servers"], state["groups"]
        if parts == ["flavors", "detail"] and method == "GET":
            return self.answer(200, {"flavors": FLAVORS}, vh)
        if parts[:1] == ["servers"]:
            if len(parts) == 1 and method == "POST":
                return self.create_server(body, state, vh)
            if len(parts) == 2 and parts[1] == "detail" and method == "GET":
                listed = sorted(servers.values(), key=lambda s: s["created"] + s["id"])
                if "name" in query:
                    listed = [s for s in listed if re.search(query["name"], s["name"])]
                if "marker" in query:
                    ids = [s["id"] for s in listed]
                    if query["marker"] not in ids:
                        return self.error(400, "badRequest", "marker [%s] not found" % query["marker"], vh)
                    listed = listed[ids.index(query["marker"]) + 1:]
                limit = int(query.get("limit", "1000"))
                page = listed[:limit]
                out = {"servers": [public_server(s, micro, state) for s in page]}
                if len(listed) > limit:
                    out["servers_links"] = [{"rel": "next", "href": "servers/detail?limit=%d&marker=%s" % (limit, page[-1]["id"])}]
                return self.answer(200, out, vh)
            server = servers.get(parts[1]) if len(parts) >= 2 else None
            if server is None:
                return self.error(404, "itemNotFound", "Instance could not be found.", vh)
            if len(parts) == 2 and method == "GET":
                return self.answer(200, {"server": public_server(server, micro, state)}, vh)
            if len(parts) == 2 and method == "DELETE":
                del servers[server["id"]]
                for port in state["ports"].values():
                    if port["device_id"] == server["id"]:
                        port["device_id"], port["device_owner"] = "", ""
                for group in groups.values():
                    if server["id"] in group["members"]:
                        group["members"].remove(server["id"])
                return self.answer(204, None, vh)
            if len(parts) == 3 and parts[2] == "action" and method == "POST":
                return self.action(server, body, vh)
        if parts[:1] == ["os-server-groups"]:
            if len(parts) == 1 and method == "GET":
                return self.answer(200, {"server_groups": [self.group_out(g, micro) for g in groups.values()]}, vh)
            if len(parts) == 1 and method == "POST":
                spec = body.get("server_group") or {}
                policy = spec.get("policy") if micro >= (2, 64) else (spec.get("policies") or [None])[0]
                if not spec.get("name") or policy not in ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"):
                    return self.error(400, "badRequest", "Invalid input for field/attribute server_group.", vh)
                group = {"id": str(uuid.uuid4()), "name": spec["name"], "policy": policy, "rules": spec.get("rules") or {}, "members": []}
                groups[group["id"]] = group
                return self.answer(200, {"server_group": self.group_out(group, micro)}, vh)
            group = groups.get(parts[1]) if len(parts) == 2 else None
            if group is None:
                return self.error(404, "itemNotFound", "Server group could not be found.", vh)
            if method == "GET":
                return self.answer(200, {"server_group": self.group_out(group, micro)}, vh)
            if method == "DELETE":
                del groups[group["id"]]
                return self.answer(204, None, vh)
        return self.error(404, "itemNotFound", "No such API", vh)

    @staticmethod
    def group_out(group, micro):
        out = {"id": group["id"], "name": group["name"], "members": list(group["members"]), "metadata": {}}
        if micro >= (2, 64):
            out.update(policy=group["policy"], rules=group["rules"])
        else:
            out["policies"] = [group["policy"]]
        return out

    def create_server(self, body, state, vh):
        spec = body.get("server") or {}
        hints = body.get("os:scheduler_hints") or {}
        name, flavor_ref, image_ref = spec.get("name"), spec.get("flavorRef"), spec.get("imageRef")
        if not name or not flavor_ref or not image_ref:
            return self.error(400, "badRequest", "Invalid input: name, flavorRef and imageRef are required.", vh)
        flavor = next((f for f in FLAVORS if f["id"] == flavor_ref), None)
        if flavor is None:
            return self.error(400, "badRequest", "Flavor %s could not be found." % flavor_ref, vh)
        if not any(i["id"] == image_ref for i in IMAGES):
            return self.error(400, "badRequest", "Image %s could not be found." % image_ref, vh)
        metadata = spec.get("metadata") or {}
        if not all(isinstance(v, str) and len(k) <= 255 and len(v) <= 255 for k, v in metadata.items()):
            return self.error(400, "badRequest", "Invalid input for field/attribute metadata.", vh)
        user_data = spec.get("user_data")
        if user_data is not None:
            try:
                base64.b64decode(user_data, validate=True)
            except ValueError:
                return self.error(400, "badRequest", "User data needs to be valid base 64.", vh)
        networks = spec.get("networks") or []
        if networks in ("none", "auto"):  # 2.37+: no port, or Nova's own choice (the double gives none)
            networks = []
        elif not isinstance(networks, list):
            return self.error(400, "badRequest", "Invalid input for field/attribute networks.", vh)
        ports = []
        for net in networks:
            port = state["ports"].get(net.get("port", ""))
            if port is None:
                return self.error(400, "badRequest", "Port %s could not be found." % net.get("port"), vh)
            if port["device_id"]:
                return self.error(409, "conflictingRequest", "Port %s is still in use." % port["id"], vh)
            ports.append(port)
        group = None
        if hints.get("group"):
            group = state["groups"].get(hints["group"])
            if group is None:
                return self.error(400, "badRequest", "Invalid server group.", vh)
        server_id = str(uuid.uuid4())
        for port in ports:
            port["device_id"], port["device_owner"] = server_id, "compute:nova"
        server = {
            "id": server_id, "name": name, "status": "BUILD", "created": now_iso(), "updated": now_iso(),
            "tenant_id": "", "metadata": metadata,
            "flavor": {"original_name": flavor["name"], "vcpus": flavor["vcpus"], "ram": flavor["ram"], "disk": flavor["disk"]},
            "image": {"id": image_ref}, "OS-EXT-STS:power_state": 0, "OS-EXT-STS:task_state": "spawning", "OS-EXT-STS:vm_state": "building",
            "OS-EXT-SRV-ATTR:user_data": user_data, "OS-EXT-SRV-ATTR:hostname": name,
            "_pending": (time.time() + STATE_DELAY, "ACTIVE", 1),
        }
        if group is not None and group["policy"] == "anti-affinity" and len(group["members"]) >= HOSTS:
            # As Nova's scheduler does: no host left outside the group, the server goes to ERROR.
            server.update(status="ERROR", _pending=None, fault={"code": 500, "message": "No valid host was found. There are not enough hosts available.", "created": now_iso()})
            server["OS-EXT-STS:task_state"], server["OS-EXT-STS:vm_state"] = None, "error"
        elif group is not None:
            group["members"].append(server_id)
        state["servers"][server_id] = server
        return self.answer(202, {"server": {"id": server_id, "links": [], "OS-DCF:diskConfig": "MANUAL", "security_groups": [{"name": "default"}]}},
                           dict(vh, Location="/compute/v2.1/servers/" + server_id))

    def action(self, server, body, vh):
        settle(server)
        if server.get("_pending"):
            return self.error(409, "conflictingRequest", "Cannot act on instance %s while it is in task_state %s" % (server["id"], server["OS-EXT-STS:task_state"]), vh)
        status = server["status"]
        if "os-stop" in body:
            if status not in ("ACTIVE", "ERROR"):
                return self.error(409, "conflictingRequest", "Cannot 'stop' instance %s while it is in vm_state %s" % (server["id"], server["OS-EXT-STS:vm_state"]), vh)
            server["OS-EXT-STS:task_state"], server["_pending"] = "powering-off", (time.time() + STATE_DELAY, "SHUTOFF", 4)
        elif "os-start" in body:
            if status != "SHUTOFF":
                return self.error(409, "conflictingRequest", "Cannot 'start' instance %s while it is in vm_state %s" % (server["id"], server["OS-EXT-STS:vm_state"]), vh)
            server["OS-EXT-STS:task_state"], server["_pending"] = "powering-on", (time.time() + STATE_DELAY, "ACTIVE", 1)
        elif "reboot" in body:
            kind = (body.get("reboot") or {}).get("type")
            if kind not in ("HARD", "SOFT"):
                return self.error(400, "badRequest", "Invalid input for field/attribute type.", vh)
            server["status"] = "HARD_REBOOT" if kind == "HARD" else "REBOOT"
            server["OS-EXT-STS:task_state"], server["_pending"] = "reboot_started_hard", (time.time() + STATE_DELAY, "ACTIVE", 1)
        else:
            return self.error(400, "badRequest", "Unsupported server action.", vh)
        return self.answer(202, None, vh)

    # ---- Glance -----------------------------------------------------------------------------
    def image(self, method, path, query):
        if path.rstrip("/") == "/images" and method == "GET":
            images = [i for i in IMAGES if "name" not in query or i["name"] == query["name"]]
            return self.answer(200, {"images": images})
        return self.error(404, "itemNotFound", "No such API")

    # ---- Neutron ----------------------------------------------------------------------------
    def neutron_error(self, status, kind, message):
        self.answer(status, {"NeutronError": {"type": kind, "message": message, "detail": ""}})

    @staticmethod
    def matches(item, query):
        for key, value in query.items():
            if key in ("fields", "limit", "marker"):
                continue
            if key == "tags":
                if not set(value.split(",")) <= set(item.get("tags", [])):
                    return False
            elif isinstance(item.get(key), bool):  # Neutron converts "true"/"True"/"1" for boolean filters
                if item[key] != (value.lower() in ("true", "1")):
                    return False
            elif str(item.get(key)) != value:
                return False
        return True

    def network(self, method, path, query, body, state):
        parts = [p for p in path.split("/") if p]
        if parts == ["networks"] and method == "GET":
            nets = [{"id": NETWORK["id"], "name": ARGS.network, "subnets": [NETWORK["subnet"]], "status": "ACTIVE", "admin_state_up": True,
                     "shared": True, "router:external": False},
                    {"id": EXTERNAL["id"], "name": ARGS.floating_network, "subnets": [EXTERNAL["subnet"]], "status": "ACTIVE", "admin_state_up": True,
                     "shared": False, "router:external": True}]
            return self.answer(200, {"networks": [n for n in nets if self.matches(n, query)]})
        if parts[:1] == ["ports"]:
            ports = state["ports"]
            if len(parts) == 1 and method == "GET":
                return self.answer(200, {"ports": [p for p in ports.values() if self.matches(p, query)]})
            if len(parts) == 1 and method == "POST":
                spec = body.get("port") or {}
                if spec.get("network_id") != NETWORK["id"]:
                    return self.neutron_error(404, "NetworkNotFound", "Network %s could not be found." % spec.get("network_id"))
                for sg in spec.get("security_groups") or []:
                    if sg not in state["sgs"]:
                        return self.neutron_error(404, "SecurityGroupNotFound", "Security group %s does not exist" % sg)
                NEXT_IP["n"] += 1
                address = str(ipaddress.ip_network(NETWORK["cidr"])[NEXT_IP["n"] % 250 + 2])
                port = {"id": str(uuid.uuid4()), "name": spec.get("name", ""), "description": spec.get("description", ""),
                        "network_id": NETWORK["id"], "device_id": spec.get("device_id", ""), "device_owner": spec.get("device_owner", ""),
                        "mac_address": "fa:16:3e:%02x:%02x:%02x" % (NEXT_IP["n"] >> 16 & 255, NEXT_IP["n"] >> 8 & 255, NEXT_IP["n"] & 255),
                        "fixed_ips": [{"subnet_id": NETWORK["subnet"], "ip_address": address}],
                        "security_groups": spec.get("security_groups") or [], "allowed_address_pairs": spec.get("allowed_address_pairs") or [],
                        "tags": [], "status": "DOWN", "admin_state_up": True}
                ports[port["id"]] = port
                return self.answer(201, {"port": port})
            port = ports.get(parts[1]) if len(parts) >= 2 else None
            if port is None:
                return self.neutron_error(404, "PortNotFound", "Port %s could not be found." % (parts[1] if len(parts) > 1 else ""))
            if len(parts) == 2 and method == "GET":
                return self.answer(200, {"port": port})
            if len(parts) == 2 and method == "PUT":
                spec = body.get("port") or {}
                for key in ("name", "description", "allowed_address_pairs", "security_groups"):
                    if key in spec:
                        port[key] = spec[key]
                return self.answer(200, {"port": port})
            if len(parts) == 2 and method == "DELETE":
                del ports[port["id"]]
                for fip in state["fips"].values():  # as Neutron does: the floating IP stays allocated, unassociated
                    if fip["port_id"] == port["id"]:
                        fip.update(port_id=None, fixed_ip_address=None, router_id=None, status="DOWN", updated_at=now_iso())
                return self.answer(204)
            if len(parts) == 3 and parts[2] == "tags" and method == "PUT":
                port["tags"] = list(body.get("tags") or [])
                return self.answer(200, {"tags": port["tags"]})
        if parts[:1] == ["security-groups"]:
            sgs = state["sgs"]
            if len(parts) == 1 and method == "GET":
                return self.answer(200, {"security_groups": [s for s in sgs.values() if self.matches(s, query)]})
            if len(parts) == 1 and method == "POST":
                spec = body.get("security_group") or {}
                sg = {"id": str(uuid.uuid4()), "name": spec.get("name", ""), "description": spec.get("description", ""), "tags": [], "security_group_rules": []}
                sgs[sg["id"]] = sg
                return self.answer(201, {"security_group": sg})
            sg = sgs.get(parts[1]) if len(parts) >= 2 else None
            if sg is None:
                return self.neutron_error(404, "SecurityGroupNotFound", "Security group %s does not exist" % (parts[1] if len(parts) > 1 else ""))
            if len(parts) == 2 and method == "GET":
                return self.answer(200, {"security_group": sg})
            if len(parts) == 2 and method == "DELETE":
                if any(sg["id"] in p["security_groups"] for p in state["ports"].values()):
                    return self.neutron_error(409, "SecurityGroupInUse", "Security Group %s in use." % sg["id"])
                del sgs[sg["id"]]
                for rule_id in [r["id"] for r in state["rules"].values() if r["security_group_id"] == sg["id"]]:
                    del state["rules"][rule_id]
                return self.answer(204)
            if len(parts) == 3 and parts[2] == "tags" and method == "PUT":
                sg["tags"] = list(body.get("tags") or [])
                return self.answer(200, {"tags": sg["tags"]})
        if parts == ["security-group-rules"] and method == "GET":
            return self.answer(200, {"security_group_rules": [r for r in state["rules"].values() if self.matches(r, query)]})
        if parts == ["security-group-rules"] and method == "POST":
            spec = body.get("security_group_rule") or {}
            sg = state["sgs"].get(spec.get("security_group_id", ""))
            if sg is None:
                return self.neutron_error(404, "SecurityGroupNotFound", "Security group %s does not exist" % spec.get("security_group_id"))
            keys = ("direction", "ethertype", "protocol", "port_range_min", "port_range_max", "remote_ip_prefix")
            rule = {k: spec.get(k) for k in keys}
            rule["ethertype"] = rule["ethertype"] or "IPv4"
            for existing in state["rules"].values():
                if existing["security_group_id"] == sg["id"] and all(existing[k] == rule[k] for k in keys):
                    return self.neutron_error(409, "SecurityGroupRuleExists", "Security group rule already exists. Rule id is %s." % existing["id"])
            rule.update(id=str(uuid.uuid4()), security_group_id=sg["id"])
            state["rules"][rule["id"]] = rule
            sg["security_group_rules"].append(rule)
            return self.answer(201, {"security_group_rule": rule})
        if parts[:1] == ["floatingips"]:
            return self.floating_ips(method, parts, query, body, state)
        return self.neutron_error(404, "HTTPNotFound", "The resource could not be found.")

    def floating_ips(self, method, parts, query, body, state):
        """GET/POST /v2.0/floatingips, GET/DELETE /v2.0/floatingips/{id}, PUT /v2.0/floatingips/{id}/tags."""
        fips = state["fips"]
        if len(parts) == 1 and method == "GET":
            return self.answer(200, {"floatingips": [f for f in fips.values() if self.matches(f, query)]})
        if len(parts) == 1 and method == "POST":
            spec = body.get("floatingip") or {}
            net_id = spec.get("floating_network_id")
            if not net_id:
                return self.neutron_error(400, "HTTPBadRequest", "Invalid input for floating_network_id. Reason: 'None' is not a valid UUID.")
            if net_id not in (NETWORK["id"], EXTERNAL["id"]):
                return self.neutron_error(404, "NetworkNotFound", "Network %s could not be found." % net_id)
            if net_id != EXTERNAL["id"]:
                return self.neutron_error(400, "BadRequest", "Bad floatingip request: Network %s is not a valid external network." % net_id)
            port, fixed = None, None
            if spec.get("port_id"):
                port = state["ports"].get(spec["port_id"])
                if port is None:
                    return self.neutron_error(404, "PortNotFound", "Port %s could not be found." % spec["port_id"])
                if not port["fixed_ips"]:
                    return self.neutron_error(400, "BadRequest", "Bad floatingip request: Port %s does not have any fixed IPv4 addresses." % port["id"])
                fixed = spec.get("fixed_ip_address") or port["fixed_ips"][0]["ip_address"]
                taken = next((f for f in fips.values() if f["port_id"] == port["id"] and f["fixed_ip_address"] == fixed), None)
                if taken is not None:
                    return self.neutron_error(409, "FloatingIPPortAlreadyAssociated",
                                              "Cannot associate floating IP %s (%s) with port %s using fixed IP %s, as that fixed IP already has a floating IP on external network %s."
                                              % (taken["floating_ip_address"], taken["id"], port["id"], fixed, net_id))
            used = {f["floating_ip_address"] for p in PROJECTS.values() for f in p["fips"].values()}  # addresses are cloud-wide
            pool = (str(a) for a in list(ipaddress.ip_network(EXTERNAL["cidr"]).hosts())[1:])  # .1 is the router's gateway
            address = next((a for a in pool if a not in used), None)
            if address is None:
                return self.neutron_error(409, "IpAddressGenerationFailure", "No more IP addresses available on network %s." % net_id)
            stamp = now_iso()
            fip = {"id": str(uuid.uuid4()), "floating_ip_address": address, "floating_network_id": net_id,
                   "port_id": port["id"] if port else None, "fixed_ip_address": fixed, "router_id": ROUTER_ID if port else None,
                   "status": "ACTIVE" if port else "DOWN", "description": spec.get("description", ""), "tags": [],
                   "created_at": stamp, "updated_at": stamp, "revision_number": 0}
            fips[fip["id"]] = fip
            return self.answer(201, {"floatingip": fip})
        fip = fips.get(parts[1]) if len(parts) >= 2 else None
        if fip is None:
            return self.neutron_error(404, "FloatingIPNotFound", "Floating IP %s could not be found" % (parts[1] if len(parts) > 1 else ""))
        if len(parts) == 2 and method == "GET":
            return self.answer(200, {"floatingip": fip})
        if len(parts) == 2 and method == "DELETE":
            del fips[fip["id"]]
            return self.answer(204)
        if len(parts) == 3 and parts[2] == "tags" and method == "PUT":
            fip["tags"] = list(body.get("tags") or [])
            return self.answer(200, {"tags": fip["tags"]})
        return self.neutron_error(404, "HTTPNotFound", "The resource could not be found.")


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--keystone", required=True)
    parser.add_argument("--network", default="cx-net")
    parser.add_argument("--floating-network", default="cx-public")
    ARGS = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    server.daemon_threads = True
    sys.stderr.write("double: listening on 127.0.0.1:%d (keystone %s)\n" % (ARGS.port, ARGS.keystone))
    server.serve_forever()


if __name__ == "__main__":
    main()
