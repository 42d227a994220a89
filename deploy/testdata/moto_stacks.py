"""Deploys the logarchive templates to a moto_server and asserts what they create.

Run by deploy/moto_test.go: python3 moto_stacks.py <endpoint> <deploy dir>. moto's CloudFormation
skips resource types it does not model (Glue, Athena, CloudWatch alarms, autoscaling, SNS
subscriptions); everything it models is checked here. The queue stack's custom-resource handler
cannot run as a Lambda on moto (no container runtime), so its code is taken out of queue.yaml and
run here against moto's S3, through the same CloudFormation request sequence an update produces.
"""
import json
import re
import sys
import textwrap
import types

import boto3

endpoint, deploy_dir = sys.argv[1], sys.argv[2]
kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
cf, s3, sqs, iam, ecs, sns, logs = (boto3.client(n, **kw) for n in ("cloudformation", "s3", "sqs", "iam", "ecs", "sns", "logs"))


def template(name):
    with open(f"{deploy_dir}/{name}") as f:
        return f.read()


def params(**kv):
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in kv.items()]


def deploy(name, body, **kv):
    cf.create_stack(StackName=name, TemplateBody=body, Parameters=params(**kv), Capabilities=["CAPABILITY_NAMED_IAM"])
    st = cf.describe_stacks(StackName=name)["Stacks"][0]
    assert st["StackStatus"] == "CREATE_COMPLETE", (name, st["StackStatus"], st.get("StackStatusReason"))
    res = {r["LogicalResourceId"]: r for r in cf.list_stack_resources(StackName=name)["StackResourceSummaries"] if r["LogicalResourceId"]}
    return {o["OutputKey"]: o["OutputValue"] for o in st.get("Outputs", [])}, res


checks = []


def check(what, cond, detail=""):
    checks.append(what)
    assert cond, f"{what}: {detail}"


# --- the notification handler, run against moto's S3 --------------------------------------------
src = template("queue.yaml")
m = re.search(r"ZipFile: \|\n(.*?)\n\s*# END notification handler", src, re.S)
check("handler code found in queue.yaml", m is not None)
responses = []
cfnresponse = types.ModuleType("cfnresponse")
cfnresponse.SUCCESS, cfnresponse.FAILED = "SUCCESS", "FAILED"
cfnresponse.send = lambda event, context, status, data, pid=None: responses.append((status, pid, data))
sys.modules["cfnresponse"] = cfnresponse
handler_ns = {}
exec(textwrap.dedent(m.group(1)), handler_ns)
handler = handler_ns["handler"]

s3.create_bucket(Bucket="org-logs")
qa = sqs.create_queue(QueueName="queue-a")["QueueUrl"]
qb = sqs.create_queue(QueueName="queue-b")["QueueUrl"]
arn = lambda url: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
topic = sns.create_topic(Name="other-team")["TopicArn"]
# Someone else's configuration on the bucket must survive everything below.
s3.put_bucket_notification_configuration(Bucket="org-logs", NotificationConfiguration={
    "TopicConfigurations": [{"Id": "other-team", "TopicArn": topic, "Events": ["s3:ObjectRemoved:*"]}]})
stack_id = "arn:aws:cloudformation:us-east-1:123456789012:stack/la-queue/1"


def notif():
    c = s3.get_bucket_notification_configuration(Bucket="org-logs")
    return {q["Id"]: q["QueueArn"] for q in c.get("QueueConfigurations", [])}, [t["Id"] for t in c.get("TopicConfigurations", [])]


def call(kind, pid=None, queue=None, old=None, bucket="org-logs"):
    ev = {"RequestType": kind, "StackId": stack_id, "ResourceProperties": {"Bucket": bucket, "QueueArn": queue, "Prefix": "AWSLogs/"}}
    if pid is not None:
        ev["PhysicalResourceId"] = pid
    if old:
        ev["OldResourceProperties"] = old
    handler(ev, None, s3=s3)
    return responses[-1]


status, pid_a, _ = call("Create", queue=arn(qa))
queues, topics = notif()
check("create: SUCCESS with a physical id bucket/config-id", status == "SUCCESS" and pid_a.startswith("org-logs/logarchive-"), (status, pid_a))
check("create: queue A configured, other team's topic kept", queues == {pid_a.split("/", 1)[1]: arn(qa)} and topics == ["other-team"], (queues, topics))
status, pid_a2, _ = call("Update", pid=pid_a, queue=arn(qa))
check("update with the same queue keeps the physical id (no Delete follows)", status == "SUCCESS" and pid_a2 == pid_a, (status, pid_a2))
status, pid_b, _ = call("Update", pid=pid_a, queue=arn(qb))
queues, _ = notif()
check("update to queue B: new physical id, only B configured", status == "SUCCESS" and pid_b != pid_a and queues == {pid_b.split("/", 1)[1]: arn(qb)}, (pid_b, queues))
status, _, _ = call("Delete", pid=pid_a, queue=arn(qa))
queues, topics = notif()
check("CloudFormation's Delete of the replaced id leaves B in place", status == "SUCCESS" and queues == {pid_b.split("/", 1)[1]: arn(qb)} and topics == ["other-team"], queues)
status, _, _ = call("Delete", pid="2026/12/04/[$LATEST]0123abcd", queue=arn(qb))
check("Delete of an id that is not ours (a failed Create's) changes nothing", status == "SUCCESS" and notif()[0] == queues)
status, _, _ = call("Delete", pid=pid_b, queue=arn(qb))
queues, topics = notif()
check("stack Delete removes only our configuration", status == "SUCCESS" and queues == {} and topics == ["other-team"], (queues, topics))
status, pid_f, data = call("Create", queue=arn(qa), bucket="no-such-bucket")
# A failure must be reported (a stack waiting for an answer hangs for an hour), and its Delete,
# which CloudFormation sends on rollback with whatever id came back, must succeed.
check("a failed Create answers FAILED with the reason", status == "FAILED" and "NoSuchBucket" in data.get("Error", ""), (status, data))
status, _, _ = call("Delete", pid=pid_f, queue=arn(qa), bucket="no-such-bucket")
check("its rollback Delete succeeds", status == "SUCCESS")

# --- the stacks, in the README's order -------------------------------------------------------------
s3.create_bucket(Bucket="aws-controltower-logs-123456789012-us-east-1")
out_q, res_q = deploy("la-queue", template("queue.yaml"), BucketName="aws-controltower-logs-123456789012-us-east-1",
                      NotificationMode="EventBridge", VisibilityTimeoutSeconds="420")
attrs = sqs.get_queue_attributes(QueueUrl=out_q["QueueUrl"], AttributeNames=["All"])["Attributes"]
check("queue: visibility timeout from the parameter", attrs["VisibilityTimeout"] == "420", attrs)
redrive = json.loads(attrs["RedrivePolicy"])
check("queue: redrive to the DLQ after 10 receives", redrive["deadLetterTargetArn"] == out_q["DeadLetterQueueArn"] and int(redrive["maxReceiveCount"]) == 10, redrive)
check("queue: EventBridge rule instead of the custom resource", "ObjectCreatedRule" in res_q and "BucketNotification" not in res_q, list(res_q))
rule = boto3.client("events", **kw).describe_rule(Name="la-queue-object-created")
pattern = json.loads(rule["EventPattern"])
check("queue: rule matches the bucket and prefix", pattern["detail"]["bucket"]["name"] == ["aws-controltower-logs-123456789012-us-east-1"]
      and pattern["detail"]["object"]["key"] == [{"prefix": "AWSLogs/"}], pattern)

out_l, res_l = deploy("la-lake", template("lake.yaml"))
check("lake: output bucket created", out_l["OutputBucket"] in [b["Name"] for b in s3.list_buckets()["Buckets"]], out_l)

ecs.create_cluster(clusterName="logarchive")
lake_providers = json.dumps({"externalId": "ext-id", "sources": {"API_ACTIVITY": {
    "location": "s3://aws-security-data-lake-us-east-1-abc/ext/logarchive-api-activity/1.0/",
    "roleArn": "arn:aws:iam::123456789012:role/AmazonSecurityLake-Provider-logarchive-api-activity-us-east-1"}}})
lake_params = {"OutputFormat": "security-lake", "SecurityLakeProviders": lake_providers,
               "SecurityLakeProviderRoleArns": "arn:aws:iam::123456789012:role/AmazonSecurityLake-Provider-logarchive-api-activity-us-east-1",
               "SecurityLakeRollbackArns": "arn:aws:s3:::aws-security-data-lake-us-east-1-abc/ext/logarchive-api-activity/1.0/*"}
for name, kms, extra in (("la-worker", "", {}), ("la-worker-kms", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", {}),
                         ("la-worker-lake", "", lake_params)):
    out_w, res_w = deploy(name, template("worker.yaml"), QueueStackName="la-queue", LakeStackName="la-lake",
                          Image="123456789012.dkr.ecr.us-east-1.amazonaws.com/logarchive:1", Cluster="logarchive",
                          Subnets="subnet-12345678", SecurityGroups="sg-12345678", KmsKeyArns=kms, **extra)
    td = ecs.describe_task_definition(taskDefinition=out_w["TaskDefinitionArn"])["taskDefinition"]
    c = td["containerDefinitions"][0]
    env = {e["name"]: e["value"] for e in c["environment"]}
    check(f"{name}: visibility timeout imported from the queue stack", env["LOGARCHIVE_VISIBILITY_TIMEOUT"] == "420s", env)
    check(f"{name}: queue and DLQ URLs imported", env["LOGARCHIVE_QUEUE_URL"] == out_q["QueueUrl"] and env["LOGARCHIVE_DLQ_URL"] == out_q["DeadLetterQueueUrl"], env)
    check(f"{name}: destination and backfill state under the output prefix",
          env["LOGARCHIVE_DEST"] == f"s3://{out_l['OutputBucket']}/logarchive/" and env["LOGARCHIVE_STATE"].startswith(env["LOGARCHIVE_DEST"]), env)
    check(f"{name}: health check runs /ingest healthcheck", c["healthCheck"]["command"] == ["CMD", "/ingest", "healthcheck"], c.get("healthCheck"))
    drain = int(env["LOGARCHIVE_DRAIN_TIMEOUT"].rstrip("s"))
    check(f"{name}: stopTimeout covers the drain plus a long poll", c["stopTimeout"] >= drain + 20, (c["stopTimeout"], drain))
    check(f"{name}: non-root user", c["user"] == "65532", c["user"])
    lc = c["logConfiguration"]["options"]
    check(f"{name}: stack-named log group exists", lc["awslogs-group"] == f"/logarchive/{name}"
          and logs.describe_log_groups(logGroupNamePrefix=f"/logarchive/{name}")["logGroups"], lc)
    role = out_w["TaskRoleArn"].split("/")[-1]
    inline = set(iam.list_role_policies(RoleName=role)["PolicyNames"])
    check(f"{name}: KMS grant exactly when keys are given", ("logarchive-kms" in inline) == bool(kms), inline)
    lake = bool(extra)
    check(f"{name}: Security Lake grants exactly when provider roles are given",
          ("logarchive-security-lake" in inline) == lake and ("logarchive-security-lake-rollback" in inline) == lake, inline)
    check(f"{name}: output format and providers passed to the worker",
          env["LOGARCHIVE_FORMAT"] == ("security-lake" if lake else "athena")
          and env.get("LOGARCHIVE_SECURITY_LAKE_PROVIDERS", "") == (lake_providers if lake else ""), env)
    svc = ecs.describe_services(cluster="logarchive", services=[out_w["ServiceName"]])["services"][0]
    # No desiredCount is given (autoscaling owns it; CloudFormation starts new services at 1, moto at 0).
    check(f"{name}: service runs the task definition", svc["taskDefinition"] == out_w["TaskDefinitionArn"], svc["taskDefinition"])
    check(f"{name}: auditor role", iam.get_role(RoleName=f"{name}-auditor")["Role"]["Arn"] == out_w["AuditorRoleArn"])

out_a, res_a = deploy("la-alarms", template("alarms.yaml"), QueueStackName="la-queue", AlarmEmail="secops@example.com")
check("alarms: topic created", out_a["AlarmTopicArn"] in [t["TopicArn"] for t in sns.list_topics()["Topics"]], out_a)
print(json.dumps({"passed": len(checks), "checks": checks}))
