#!/usr/bin/env python3
"""Idempotent setup of the test Keystone over its REST API (run by test/peers/keystone.sh):
project cx, user cx-svc with the member role on it, an application credential of cx-svc, and
catalog entries (public, RegionOne) for compute, image and network pointing at DOUBLE_URL.
Prints the application credential id on stdout; logs nothing secret."""
import json
import os
import sys
import time
import urllib.error
import urllib.request

KEYSTONE = os.environ["KEYSTONE_URL"].rstrip("/")  # http://127.0.0.1:PORT/v3
ADMIN_PASSWORD = os.environ["ADMIN_PASSWORD"]
USER, USER_PASSWORD = os.environ["CX_USER"], os.environ["CX_PASSWORD"]
APP_NAME, APP_SECRET = os.environ["APP_CRED_NAME"], os.environ["APP_CRED_SECRET"]
DOUBLE = os.environ["DOUBLE_URL"].rstrip("/")
REGION = "RegionOne"


def call(method, path, token=None, body=None, ok=(200, 201, 204)):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(KEYSTONE + path, data=data, method=method, headers={"Content-Type": "application/json"})
    if token:
        request.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            text = answer.read()
            return answer.status, (json.loads(text) if text else {}), answer.headers
    except urllib.error.HTTPError as error:
        if error.code in ok:
            return error.code, {}, error.headers
        sys.exit("keystone-setup: %s %s answered %d: %s" % (method, path, error.code, error.read()[:300].decode(errors="replace")))


def token_for(user, password, project):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": user, "domain": {"id": "default"}, "password": password}}},
                     "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
    _, _, headers = call("POST", "/auth/tokens", body=body)
    return headers["X-Subject-Token"]


def password_works():
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": USER, "domain": {"id": "default"}, "password": USER_PASSWORD}}}}}
    status, _, _ = call("POST", "/auth/tokens", body=body, ok=(201, 401))
    return status == 201


def works(cred_id):
    """Whether the application credential logs in with our secret (then it is kept as is)."""
    body = {"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"id": cred_id, "secret": APP_SECRET}}}}
    status, _, _ = call("POST", "/auth/tokens", body=body, ok=(201, 401, 404))
    return status == 201


def one(token, path, key):
    _, body, _ = call("GET", path, token)
    items = body[key]
    return items[0] if items else None


def main():
    admin = token_for("admin", ADMIN_PASSWORD, "admin")
    project = one(admin, "/projects?name=cx&domain_id=default", "projects") or \
        call("POST", "/projects", admin, {"project": {"name": "cx", "domain_id": "default", "description": "cx tests"}})[1]["project"]
    user = one(admin, "/users?name=%s&domain_id=default" % USER, "users")
    if user is None:
        user = call("POST", "/users", admin, {"user": {"name": USER, "domain_id": "default", "password": USER_PASSWORD, "default_project_id": project["id"]}})[1]["user"]
    elif not password_works():
        # The password the JSON line announces must work. Changing it revokes the user's tokens,
        # with one-second granularity: wait so that the next token is not caught by that revocation.
        call("PATCH", "/users/%s" % user["id"], admin, {"user": {"password": USER_PASSWORD}})
        time.sleep(1.1)
    role = one(admin, "/roles?name=member", "roles")
    call("PUT", "/projects/%s/users/%s/roles/%s" % (project["id"], user["id"], role["id"]), admin)
    for kind, name, suffix in (("compute", "nova", "/compute/v2.1"), ("image", "glance", "/image"), ("network", "neutron", "/network")):
        service = one(admin, "/services?type=%s" % kind, "services") or \
            call("POST", "/services", admin, {"service": {"type": kind, "name": name, "enabled": True}})[1]["service"]
        endpoint = one(admin, "/endpoints?service_id=%s&interface=public" % service["id"], "endpoints")
        if endpoint is None:
            call("POST", "/endpoints", admin, {"endpoint": {"service_id": service["id"], "interface": "public", "region_id": REGION, "url": DOUBLE + suffix, "enabled": True}})
        elif endpoint["url"] != DOUBLE + suffix:
            call("PATCH", "/endpoints/%s" % endpoint["id"], admin, {"endpoint": {"url": DOUBLE + suffix}})
    # Application credentials are created by their own user (with a token of that user).
    mine = token_for(USER, USER_PASSWORD, "cx")
    cred = one(mine, "/users/%s/application_credentials?name=%s" % (user["id"], APP_NAME), "application_credentials")
    if cred is not None and works(cred["id"]):
        print(json.dumps({"applicationCredentialId": cred["id"], "projectId": project["id"], "userId": user["id"]}))
        return
    if cred is not None:  # its secret cannot be read back and ours does not work: recreate it
        call("DELETE", "/users/%s/application_credentials/%s" % (user["id"], cred["id"]), mine)
    cred = call("POST", "/users/%s/application_credentials" % user["id"], mine,
                {"application_credential": {"name": APP_NAME, "secret": APP_SECRET, "description": "cx tests"}})[1]["application_credential"]
    print(json.dumps({"applicationCredentialId": cred["id"], "projectId": project["id"], "userId": user["id"]}))


if __name__ == "__main__":
    main()
