"""Drives epdns's control API with the official Alibaba Cloud Python SDKs,
one call per line: reads a JSON command from stdin, writes one JSON result
line to stdout.

Command: {"endpoint": "127.0.0.1:PORT", "action": "CreateVpcEndpoint",
          "request": {... the API's parameter names ...},
          "key": "lab-key", "secret": "lab-secret",   # optional
          "nonce": "fixed",                            # optional: reuse a nonce
          "rpc": "GET" | "POST",                       # optional: RPC v1 style
          "product": "pvtz"}                           # optional: PrivateZone
     or {"parallel": [command, ...]}: all at once, from as many threads
Result: {"ok": <the reply body as the SDK's model maps it>}
     or {"error": {"code": ..., "status": ..., "message": ...}}
"""

import json
from concurrent.futures import ThreadPoolExecutor
import re
import sys

from alibabacloud_privatelink20200415 import models as privatelink_models
from alibabacloud_privatelink20200415.client import Client as PrivateLinkClient
from alibabacloud_pvtz20180101 import models as pvtz_models
from alibabacloud_pvtz20180101.client import Client as PvtzClient
from alibabacloud_tea_openapi import utils_models
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException
from alibabacloud_tea_openapi.models import Config
from alibabacloud_tea_openapi.utils import Utils
from darabonba.runtime import RuntimeOptions

VERSIONS = {"privatelink": "2020-04-15", "pvtz": "2018-01-01"}
real_nonce = Utils.get_nonce


def snake(action):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()


def client(cmd):
    config = Config(
        access_key_id=cmd.get("key", "lab-key"),
        access_key_secret=cmd.get("secret", "lab-secret"),
        region_id="cn-hangzhou",
        endpoint=cmd["endpoint"],
        protocol="http",
    )
    if cmd.get("product") == "pvtz":
        return PvtzClient(config)
    return PrivateLinkClient(config)


def flatten(request, prefix="", out=None):
    """The RPC style's flattened parameters: Zone.1.VSwitchId=..."""
    out = {} if out is None else out
    for k, v in request.items():
        name = f"{prefix}{k}"
        if isinstance(v, list):
            for i, item in enumerate(v, 1):
                if isinstance(item, dict):
                    flatten(item, f"{name}.{i}.", out)
                else:
                    out[f"{name}.{i}"] = str(item)
        elif isinstance(v, bool):
            out[name] = "true" if v else "false"
        else:
            out[name] = str(v)
    return out


def run(cmd):
    c = client(cmd)
    if "nonce" in cmd:
        Utils.get_nonce = staticmethod(lambda: cmd["nonce"])
    else:
        Utils.get_nonce = real_nonce
    action = cmd["action"]
    request = cmd.get("request", {})
    rpc = cmd.get("rpc")
    if rpc:
        params = flatten(request)
        if rpc == "GET":
            req = utils_models.OpenApiRequest(query=params)
        else:
            req = utils_models.OpenApiRequest(body=params)
        version = VERSIONS[cmd.get("product", "privatelink")]
        body = c.do_rpcrequest(action, version, "HTTP", rpc, "AK", "json", req, RuntimeOptions())
        return body["body"]
    models = pvtz_models if cmd.get("product") == "pvtz" else privatelink_models
    model = getattr(models, action + "Request")().from_map(request)
    response = getattr(c, snake(action))(model)
    return response.body.to_map()


def result_of(cmd):
    try:
        return {"ok": run(cmd)}
    except (ClientException, ServerException) as e:
        return {"error": {"code": e.code, "status": e.status_code, "message": e.message}}
    except Exception as e:  # anything else: the test prints it
        return {"fatal": repr(e)}


for line in sys.stdin:
    cmd = json.loads(line)
    if "parallel" in cmd:
        # Every command at once, each from its own thread and connection:
        # {"parallel": [cmd, ...]} -> {"ok": [result, ...]}.
        with ThreadPoolExecutor(max_workers=len(cmd["parallel"])) as pool:
            results = list(pool.map(result_of, cmd["parallel"]))
        print(json.dumps({"ok": results}), flush=True)
        continue
    print(json.dumps(result_of(cmd)), flush=True)
