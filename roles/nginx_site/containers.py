"""The way in on the container road: nginx in the compose file, with the site the servers
have; on Kubernetes an Ingress for app_domain, its certificate from cert-manager."""

from provision.api import Containers, kube

from . import maintenance

PORT = 8000  # the app's port in its container (roles/gunicorn)


def containers(role):
    v = role.vars
    site = role.template(
        "site.conf.j2", tls=False, upstreams=[(f"app:{PORT}", False)], default=True,
        maintenance=maintenance.where(v), serves="all", app_static_dir="",
    )  # fmt: skip
    nginx = {
        "image": v["nginx_container_image"],
        "restart": "unless-stopped",
        "ports": [f"{v['nginx_container_port']}:80"],
        "volumes": ["./nginx.conf:/etc/nginx/conf.d/default.conf:ro"],
        "depends_on": {"app": {"condition": "service_healthy"}},
    }
    notes = []
    if v["app_static_dir"]:
        url, folder = v["app_static_url"], v["app_static_dir"]
        notes.append(f"compose: nginx holds none of the app's files: {url} goes to the app, "
                     f"which serves {folder}/ itself or not at all")  # fmt: skip
    return Containers(compose={"services": {"nginx": nginx}}, files={"nginx.conf": site},
                      kube=[ingress(v)], notes=notes)  # fmt: skip


def ingress(v):
    name, domain = v["app_name"], v["app_domain"]
    path = {"path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": name, "port": {"name": "http"}}}}  # fmt: skip
    rule = {"http": {"paths": [path]}}
    spec = {"rules": [{"host": domain, **rule} if domain else rule]}
    metadata = {"name": name, "labels": kube.labels(name)}
    if domain:
        metadata["annotations"] = {"cert-manager.io/cluster-issuer": v["kube_cluster_issuer"]}
        spec["tls"] = [{"hosts": [domain], "secretName": f"{name}-tls"}]
    if v["kube_ingress_class"]:
        spec["ingressClassName"] = v["kube_ingress_class"]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata,
            "spec": spec}  # fmt: skip
