"""Validates rendered Kubernetes objects offline; prints one JSON line per object, exits 1 if any fails.

Usage: validate.py <kubernetes-version> <servicemonitor-crd.yaml> [file.yaml ...]   (stdin without files)

Built-in kinds: kubernetes-validate's bundled JSON schemas of that Kubernetes version, strict
(an unknown field fails, as `kubectl apply` rejects it). Custom resources (ServiceMonitor): the
openAPIV3Schema of the CRD given, made strict the same way (additionalProperties: false wherever
the CRD lists properties and does not preserve unknown fields). Anything else fails: no schema.
"""
import copy
import json
import sys

import jsonschema
import kubernetes_validate
import yaml


def strict(schema):
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node \
                    and not node.get("x-kubernetes-preserve-unknown-fields"):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def crd_schemas(path):
    schemas = {}
    with open(path) as f:
        for crd in yaml.safe_load_all(f):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schema = strict(version["schema"]["openAPIV3Schema"])
                # The API server's own fields: metadata is an ObjectMeta.
                schema.setdefault("properties", {})["metadata"] = {"type": "object"}
                schemas[(f"{group}/{version['name']}", kind)] = schema
    return schemas


def main():
    version, crd_path, *files = sys.argv[1:]
    custom = crd_schemas(crd_path)
    docs = []
    for name in files or ["-"]:
        text = sys.stdin.read() if name == "-" else open(name).read()
        docs += [d for d in yaml.safe_load_all(text) if d]
    failed = 0
    for doc in docs:
        kind, api = doc.get("kind"), doc.get("apiVersion")
        name = (doc.get("metadata") or {}).get("name")
        errors = []
        if (api, kind) in custom:
            validator = jsonschema.Draft7Validator(custom[(api, kind)])
            errors = [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(doc)]
            against = f"CRD {crd_path.rsplit('/', 1)[-1]}"
        else:
            against = f"Kubernetes {version}"
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                errors = [f"{'.'.join(map(str, e.path)) or '(root)'}: {e.message}"]
            except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as e:
                errors = [f"no schema: {e}"]
        failed += bool(errors)
        print(json.dumps({"kind": kind, "apiVersion": api, "name": name, "against": against, "ok": not errors, "errors": errors}))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
