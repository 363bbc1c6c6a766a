// build/kubernetes/ offline: every manifest validates against the Kubernetes schemas
// (kubernetes-models), the ConfigMap's config loads in streamlb with the -g the pods add, and
// the pieces agree: probes reach the admin port on /healthz and /readyz with the token, the
// config is mounted where the image's CMD reads it, and the grace period outlasts the drain.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseAllDocuments } from "yaml";
import { DaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Service } from "kubernetes-models/v1/Service";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";

const DIR = "build/kubernetes";

interface Manifest {
  readonly file: string;
  readonly kind: string;
  // deno-lint-ignore no-explicit-any
  readonly body: any;
}

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "apps/v1 Deployment": Deployment,
  "apps/v1 DaemonSet": DaemonSet,
  "apps/v1 StatefulSet": StatefulSet,
  "v1 ConfigMap": ConfigMap,
  "v1 Service": Service,
};

const manifests: Manifest[] = readdirSync(DIR)
  .filter((f) => f.endsWith(".yaml"))
  .sort()
  .flatMap((file) =>
    parseAllDocuments(readFileSync(join(DIR, file), "utf8")).map((doc) => {
      assert.deepEqual(doc.errors, [], `${file}: ${doc.errors.join("; ")}`);
      const body = doc.toJS();
      return { file, kind: `${body.apiVersion} ${body.kind}`, body };
    })
  );

const one = (kind: string, name: string) => manifests.find((m) => m.kind === kind && m.body.metadata.name === name)!.body;
const workloads = manifests.filter((m) => m.kind === "apps/v1 Deployment" || m.kind === "apps/v1 DaemonSet");

/** Seconds from an nginx time in the config ("25s"). */
const seconds = (conf: string, directive: string) => Number(new RegExp(`^\\s*${directive} (\\d+)s;`, "m").exec(conf)![1]);

describe("Kubernetes manifests", () => {
  test("there are a Deployment, a DaemonSet, a ConfigMap and the Services", () => {
    assert.deepEqual(
      [...new Set(manifests.map((m) => m.kind))].sort(),
      ["apps/v1 DaemonSet", "apps/v1 Deployment", "apps/v1 StatefulSet", "v1 ConfigMap", "v1 Service"],
    );
  });

  for (const m of manifests) {
    test(`${m.file}: ${m.kind} ${m.body.metadata?.name} is valid against the Kubernetes schema`, () => {
      const Model = MODELS[m.kind];
      assert.ok(Model, `no schema model for ${m.kind}`);
      new Model(m.body as never).validate();
    });
  }

  test("the validator does refuse a wrong manifest (so the passes above mean something)", () => {
    const broken = structuredClone(one("apps/v1 Deployment", "streamlb"));
    broken.spec.template.spec.containers[0].ports[0].containerPort = "8000";
    assert.throws(() => new Deployment(broken).validate(), /containerPort must be integer/);
  });

  const conf: string = one("v1 ConfigMap", "streamlb").data["streamlb.conf"];

  test("the ConfigMap's config loads, with the -g the pods add", () => {
    const { config } = loadNginxConfig(conf, "/etc/streamlb/streamlb.conf", { globals: "worker_processes 2;" });
    assert.equal(config.workerProcesses, 2);
    assert.equal(config.shutdownGraceMs, seconds(conf, "shutdown_grace") * 1000);
    assert.deepEqual(config.stream.upstreams.get("chat")!.method, {
      kind: "hash",
      key: "$remote_addr",
      consistent: true,
      bounded: 1.25,
    });
  });

  for (const w of workloads) {
    describe(`${w.file}: ${w.kind}`, () => {
      const pod = w.body.spec.template.spec;
      const c = pod.containers[0];
      const adminPort = Number(/^\s*admin 0\.0\.0\.0:(\d+) token=(\S+);/m.exec(conf)![1]);
      const token = /^\s*admin \S+ token=(\S+);/m.exec(conf)![1];
      const port = (name: string) => c.ports.find((p: { name: string }) => p.name === name).containerPort;

      test("probes: liveness on /healthz, readiness on /readyz with the token, at the admin port", () => {
        assert.equal(c.livenessProbe.httpGet.path, "/healthz");
        assert.equal(c.readinessProbe.httpGet.path, "/readyz");
        assert.equal(port(c.livenessProbe.httpGet.port), adminPort);
        assert.equal(port(c.readinessProbe.httpGet.port), adminPort);
        assert.deepEqual(c.readinessProbe.httpGet.httpHeaders, [{ name: "Authorization", value: `Bearer ${token}` }]);
      });

      test("the grace period covers preStop and the drain", () => {
        const drain = seconds(conf, "shutdown_grace");
        assert.ok(pod.terminationGracePeriodSeconds > c.lifecycle.preStop.sleep.seconds + drain);
      });

      test("the config is mounted where the image reads it, and -g takes the env", () => {
        const mount = c.volumeMounts.find((v: { name: string }) => v.name === "config");
        assert.equal(mount.mountPath, "/etc/streamlb");
        assert.ok(
          pod.volumes.some((v: { name: string; configMap?: { name: string } }) =>
            v.name === "config" && v.configMap?.name === "streamlb"
          ),
        );
        assert.deepEqual(c.args.slice(0, 2), ["-c", "/etc/streamlb/streamlb.conf"]);
        assert.match(readFileSync("build/container/Containerfile", "utf8"), /^CMD \["-c", "\/etc\/streamlb\/streamlb\.conf"\]$/m);
        assert.ok(c.env.some((e: { name: string }) => c.args.join(" ").includes(`$(${e.name})`)));
      });

      test("never root, and the pid file has a writable /tmp", () => {
        assert.equal(pod.securityContext.runAsNonRoot, true);
        assert.notEqual(pod.securityContext.runAsUser, 0);
        assert.equal(c.securityContext.readOnlyRootFilesystem, true);
        assert.match(conf, /^pid \/tmp\//m);
        assert.ok(c.volumeMounts.some((v: { mountPath: string }) => v.mountPath === "/tmp"));
      });
    });
  }

  test("the backends' Service is headless, and the LB Service keeps client addresses", () => {
    assert.equal(one("v1 Service", "chat").spec.clusterIP, "None");
    assert.equal(one("v1 Service", "streamlb").spec.externalTrafficPolicy, "Local");
    // The config's servers are the StatefulSet's pods by their names under that Service.
    const replicas = one("apps/v1 StatefulSet", "chat").spec.replicas;
    for (let i = 0; i < replicas; i++) {
      assert.match(conf, new RegExp(`server chat-${i}\\.chat\\.default\\.svc\\.cluster\\.local:7000`));
    }
  });
});
