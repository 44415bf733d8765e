"""Responses checked against the service's own OpenAPI document (JSON Schema validation)."""
import jsonschema


def nullable_to_jsonschema(schema):
    """OpenAPI 3.0's ``nullable`` is not JSON Schema; turn it into a type list."""
    if isinstance(schema, dict):
        schema = {k: nullable_to_jsonschema(v) for k, v in schema.items()}
        if schema.pop("nullable", False) and "type" in schema:
            schema["type"] = [schema["type"], "null"]
        return schema
    if isinstance(schema, list):
        return [nullable_to_jsonschema(v) for v in schema]
    return schema


def check_against_contract(openapi, path, method, response):
    """The response body matches the schema the document gives for its status.

    The document's references are ``#/components/...``: the schema is validated with the
    document's components beside it, where jsonschema's resolver (the ``referencing`` library)
    finds them in the schema's own resource; no RefResolver.
    """
    spec = openapi["paths"][path][method]["responses"][str(response.status_code)]
    schema = spec["content"]["application/json"]["schema"]
    resolver_schema = {**schema, "components": openapi["components"]}
    jsonschema.validate(response.get_json(), nullable_to_jsonschema(resolver_schema))
