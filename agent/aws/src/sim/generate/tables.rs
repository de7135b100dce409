//! The data generated accounts are made of: the services applications use
//! (with real actions and typical resources), kinds of application, teams,
//! regions, operations roles and service-linked roles with their AWS managed
//! policies. Every action name is in the embedded catalogue (a test checks).

/// The services application roles use, with realistic actions and resources.
/// Resource templates use `{account}`, `{region}` and `{app}`.
#[derive(Debug)]
pub(super) struct Kit {
    pub(super) prefix: &'static str,
    pub(super) read: &'static [&'static str],
    pub(super) write: &'static [&'static str],
    pub(super) wildcards: &'static [&'static str],
    pub(super) resources: &'static [&'static str],
}

pub(super) const KITS: &[Kit] = &[
    Kit {
        prefix: "s3",
        read: &[
            "GetObject",
            "ListBucket",
            "GetObjectVersion",
            "GetBucketLocation",
        ],
        write: &["PutObject", "DeleteObject", "PutObjectTagging"],
        wildcards: &["s3:Get*", "s3:List*", "s3:*"],
        resources: &[
            "arn:aws:s3:::{app}-{account}",
            "arn:aws:s3:::{app}-{account}/*",
        ],
    },
    Kit {
        prefix: "dynamodb",
        read: &["GetItem", "Query", "Scan", "BatchGetItem", "DescribeTable"],
        write: &["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"],
        wildcards: &["dynamodb:*", "dynamodb:Get*", "dynamodb:Describe*"],
        resources: &[
            "arn:aws:dynamodb:{region}:{account}:table/{app}",
            "arn:aws:dynamodb:{region}:{account}:table/{app}/index/*",
        ],
    },
    Kit {
        prefix: "sqs",
        read: &["ReceiveMessage", "GetQueueAttributes", "GetQueueUrl"],
        write: &["SendMessage", "DeleteMessage", "ChangeMessageVisibility"],
        wildcards: &["sqs:*"],
        resources: &["arn:aws:sqs:{region}:{account}:{app}-queue"],
    },
    Kit {
        prefix: "sns",
        read: &["GetTopicAttributes", "ListTopics"],
        write: &["Publish", "Subscribe"],
        wildcards: &["sns:*"],
        resources: &["arn:aws:sns:{region}:{account}:{app}-events"],
    },
    Kit {
        prefix: "lambda",
        read: &["GetFunction", "GetFunctionConfiguration", "ListFunctions"],
        write: &["InvokeFunction", "UpdateFunctionCode"],
        wildcards: &["lambda:*", "lambda:Get*", "lambda:List*"],
        resources: &["arn:aws:lambda:{region}:{account}:function:{app}-*"],
    },
    Kit {
        prefix: "kms",
        read: &["Decrypt", "DescribeKey"],
        write: &["Encrypt", "GenerateDataKey", "ReEncryptFrom"],
        wildcards: &["kms:*"],
        resources: &["arn:aws:kms:{region}:{account}:alias/{app}"],
    },
    Kit {
        prefix: "secretsmanager",
        read: &["GetSecretValue", "DescribeSecret"],
        write: &["PutSecretValue", "UpdateSecret"],
        wildcards: &["secretsmanager:*"],
        resources: &["arn:aws:secretsmanager:{region}:{account}:secret:{app}/*"],
    },
    Kit {
        prefix: "ssm",
        read: &["GetParameter", "GetParameters", "GetParametersByPath"],
        write: &["PutParameter"],
        wildcards: &["ssm:GetParameter*", "ssm:*"],
        resources: &["arn:aws:ssm:{region}:{account}:parameter/{app}/*"],
    },
    Kit {
        prefix: "kinesis",
        read: &[
            "GetRecords",
            "GetShardIterator",
            "DescribeStream",
            "ListShards",
        ],
        write: &["PutRecord", "PutRecords"],
        wildcards: &["kinesis:*"],
        resources: &["arn:aws:kinesis:{region}:{account}:stream/{app}-stream"],
    },
    Kit {
        prefix: "firehose",
        read: &["DescribeDeliveryStream"],
        write: &["PutRecord", "PutRecordBatch"],
        wildcards: &["firehose:*"],
        resources: &["arn:aws:firehose:{region}:{account}:deliverystream/{app}"],
    },
    Kit {
        prefix: "logs",
        read: &[
            "DescribeLogGroups",
            "DescribeLogStreams",
            "FilterLogEvents",
            "GetLogEvents",
        ],
        write: &["CreateLogGroup", "CreateLogStream", "PutLogEvents"],
        wildcards: &["logs:*"],
        resources: &["arn:aws:logs:{region}:{account}:log-group:/app/{app}:*"],
    },
    Kit {
        prefix: "cloudwatch",
        read: &[
            "GetMetricData",
            "GetMetricStatistics",
            "DescribeAlarms",
            "ListMetrics",
        ],
        write: &["PutMetricData", "PutMetricAlarm"],
        wildcards: &["cloudwatch:*"],
        resources: &[],
    },
    Kit {
        prefix: "ec2",
        read: &[
            "DescribeInstances",
            "DescribeSecurityGroups",
            "DescribeSubnets",
            "DescribeVpcs",
        ],
        write: &["CreateTags", "StartInstances", "StopInstances"],
        wildcards: &["ec2:Describe*", "ec2:*"],
        resources: &[],
    },
    Kit {
        prefix: "ecs",
        read: &["DescribeServices", "DescribeTasks", "ListTasks"],
        write: &["UpdateService", "RunTask"],
        wildcards: &["ecs:*", "ecs:Describe*"],
        resources: &[],
    },
    Kit {
        prefix: "states",
        read: &["DescribeExecution", "ListExecutions"],
        write: &["StartExecution", "SendTaskSuccess"],
        wildcards: &["states:*"],
        resources: &["arn:aws:states:{region}:{account}:stateMachine:{app}-*"],
    },
    Kit {
        prefix: "events",
        read: &["DescribeRule", "ListRules"],
        write: &["PutEvents", "PutRule", "PutTargets"],
        wildcards: &["events:*"],
        resources: &["arn:aws:events:{region}:{account}:event-bus/default"],
    },
    Kit {
        prefix: "athena",
        read: &["GetQueryExecution", "GetQueryResults", "GetWorkGroup"],
        write: &["StartQueryExecution", "StopQueryExecution"],
        wildcards: &["athena:*", "athena:Get*"],
        resources: &["arn:aws:athena:{region}:{account}:workgroup/{app}"],
    },
    Kit {
        prefix: "glue",
        read: &["GetTable", "GetTables", "GetDatabase", "GetPartitions"],
        write: &["BatchCreatePartition", "StartJobRun"],
        wildcards: &["glue:*", "glue:Get*"],
        resources: &[],
    },
    Kit {
        prefix: "rds",
        read: &["DescribeDBInstances", "DescribeDBClusters"],
        write: &["CreateDBSnapshot", "ModifyDBInstance"],
        wildcards: &["rds:Describe*", "rds:*"],
        resources: &[],
    },
    Kit {
        prefix: "xray",
        read: &["GetSamplingRules", "GetSamplingTargets"],
        write: &["PutTraceSegments", "PutTelemetryRecords"],
        wildcards: &["xray:*"],
        resources: &[],
    },
    Kit {
        prefix: "es",
        read: &["ESHttpGet", "DescribeDomain"],
        write: &["ESHttpPost", "ESHttpPut"],
        wildcards: &["es:ESHttp*", "es:*"],
        resources: &["arn:aws:es:{region}:{account}:domain/{app}/*"],
    },
    Kit {
        prefix: "elasticloadbalancing",
        read: &[
            "DescribeLoadBalancers",
            "DescribeTargetGroups",
            "DescribeTargetHealth",
        ],
        write: &["RegisterTargets", "DeregisterTargets"],
        wildcards: &["elasticloadbalancing:Describe*"],
        resources: &[],
    },
];

pub(super) fn kit(prefix: &str) -> Option<&'static Kit> {
    KITS.iter().find(|k| k.prefix == prefix)
}

/// A kind of application: who assumes its role, the services it relies on
/// (some used), and the services it was granted "just in case".
#[derive(Debug)]
pub(super) struct Shape {
    pub(super) component: &'static str,
    pub(super) principal: &'static str,
    pub(super) core: &'static [&'static str],
    pub(super) extra: &'static [&'static str],
}

pub(super) const SHAPES: &[Shape] = &[
    Shape {
        component: "api",
        principal: "ecs-tasks.amazonaws.com",
        core: &["dynamodb", "sqs", "s3", "secretsmanager"],
        extra: &[
            "sns", "kms", "ssm", "kinesis", "lambda", "events", "xray", "es",
        ],
    },
    Shape {
        component: "worker",
        principal: "lambda.amazonaws.com",
        core: &["sqs", "dynamodb", "s3", "logs"],
        extra: &[
            "sns",
            "kms",
            "secretsmanager",
            "events",
            "states",
            "firehose",
            "xray",
        ],
    },
    Shape {
        component: "etl",
        principal: "glue.amazonaws.com",
        core: &["glue", "s3", "athena", "logs"],
        extra: &["dynamodb", "kinesis", "firehose", "sns", "kms", "rds"],
    },
    Shape {
        component: "stream",
        principal: "lambda.amazonaws.com",
        core: &["kinesis", "firehose", "logs"],
        extra: &["s3", "dynamodb", "cloudwatch", "sns", "sqs", "kms"],
    },
    Shape {
        component: "web",
        principal: "ec2.amazonaws.com",
        core: &["s3", "ssm", "cloudwatch"],
        extra: &[
            "dynamodb",
            "secretsmanager",
            "sqs",
            "elasticloadbalancing",
            "ec2",
            "kms",
        ],
    },
    Shape {
        component: "scheduler",
        principal: "states.amazonaws.com",
        core: &["states", "lambda", "events"],
        extra: &["sqs", "sns", "dynamodb", "ecs", "logs"],
    },
];

pub(super) const TEAMS: &[&str] = &[
    "payments",
    "orders",
    "search",
    "checkout",
    "catalog",
    "identity",
    "billing",
    "inventory",
    "shipping",
    "analytics",
    "notifications",
    "ledger",
    "pricing",
    "recommendations",
    "fraud",
    "reporting",
];

pub(super) const REGIONS: &[&str] = &[
    "us-east-1",
    "eu-west-1",
    "eu-central-1",
    "us-west-2",
    "ap-southeast-2",
];

/// Operations roles: broad wildcards, few of them used.
pub(super) const OPS: &[(&str, &[&str], &[&str])] = &[
    (
        "ops-ec2-inventory",
        &[
            "ec2:Describe*",
            "autoscaling:Describe*",
            "elasticloadbalancing:Describe*",
        ],
        &["ec2"],
    ),
    ("ops-log-archiver", &["logs:*", "s3:*"], &["logs", "s3"]),
    (
        "ops-metrics-exporter",
        &["cloudwatch:*", "ec2:Describe*", "tag:GetResources"],
        &["cloudwatch", "tag"],
    ),
    (
        "ops-backup-runner",
        &["rds:*", "dynamodb:*", "s3:*", "backup:*"],
        &["rds", "s3"],
    ),
    (
        "ops-dns-updater",
        &["route53:*", "elasticloadbalancing:Describe*"],
        &["route53"],
    ),
    (
        "ops-cost-reporter",
        &["ce:*", "s3:*", "athena:*", "glue:Get*"],
        &["ce", "athena"],
    ),
    (
        "ops-patch-manager",
        &["ssm:*", "ec2:Describe*", "ec2:CreateTags"],
        &["ssm", "ec2"],
    ),
    (
        "ops-secrets-rotator",
        &[
            "secretsmanager:*",
            "rds:Describe*",
            "lambda:InvokeFunction",
            "kms:*",
        ],
        &["secretsmanager"],
    ),
];

/// Service-linked roles: name, service principal, the AWS managed policy and its actions.
pub(super) const LINKED: &[(&str, &str, &str, &[&str])] = &[
    (
        "AWSServiceRoleForAutoScaling",
        "autoscaling.amazonaws.com",
        "AutoScalingServiceRolePolicy",
        &[
            "ec2:DescribeInstances",
            "ec2:DescribeInstanceStatus",
            "ec2:DescribeSubnets",
            "ec2:RunInstances",
            "ec2:TerminateInstances",
            "ec2:CreateTags",
            "elasticloadbalancing:RegisterInstancesWithLoadBalancer",
            "elasticloadbalancing:DeregisterInstancesFromLoadBalancer",
            "elasticloadbalancing:RegisterTargets",
            "elasticloadbalancing:DeregisterTargets",
            "cloudwatch:DescribeAlarms",
            "cloudwatch:PutMetricAlarm",
            "cloudwatch:DeleteAlarms",
        ],
    ),
    (
        "AWSServiceRoleForECS",
        "ecs.amazonaws.com",
        "AmazonECSServiceRolePolicy",
        &[
            "ec2:AttachNetworkInterface",
            "ec2:CreateNetworkInterface",
            "ec2:DeleteNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DetachNetworkInterface",
            "ec2:DescribeSubnets",
            "elasticloadbalancing:RegisterTargets",
            "elasticloadbalancing:DeregisterTargets",
            "logs:CreateLogGroup",
            "logs:DescribeLogGroups",
            "logs:PutRetentionPolicy",
        ],
    ),
    (
        "AWSServiceRoleForRDS",
        "rds.amazonaws.com",
        "AmazonRDSServiceRolePolicy",
        &[
            "ec2:CreateNetworkInterface",
            "ec2:DeleteNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:ModifyNetworkInterfaceAttribute",
            "ec2:DescribeSecurityGroups",
            "cloudwatch:PutMetricData",
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ],
    ),
    (
        "AWSServiceRoleForElasticLoadBalancing",
        "elasticloadbalancing.amazonaws.com",
        "AWSElasticLoadBalancingServiceRolePolicy",
        &[
            "ec2:DescribeAddresses",
            "ec2:DescribeInstances",
            "ec2:DescribeSubnets",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeVpcs",
            "ec2:CreateNetworkInterface",
            "ec2:DeleteNetworkInterface",
            "ec2:ModifyNetworkInterfaceAttribute",
        ],
    ),
    (
        "AWSServiceRoleForTrustedAdvisor",
        "trustedadvisor.amazonaws.com",
        "AWSTrustedAdvisorServiceRolePolicy",
        &[
            "ec2:DescribeInstances",
            "ec2:DescribeVolumes",
            "rds:DescribeDBInstances",
            "s3:ListAllMyBuckets",
            "iam:GetAccountSummary",
            "cloudtrail:DescribeTrails",
            "autoscaling:DescribeAutoScalingGroups",
        ],
    ),
    (
        "AWSServiceRoleForSupport",
        "support.amazonaws.com",
        "AWSSupportServiceRolePolicy",
        &[
            "ec2:Describe*",
            "iam:GetAccountSummary",
            "iam:List*",
            "s3:GetBucketPolicy",
            "s3:ListAllMyBuckets",
            "cloudtrail:DescribeTrails",
        ],
    ),
];

/// Services the abridged `ReadOnlyAccess` grants `Describe*`, `Get*` and `List*` of.
pub(super) const READ_ONLY_SERVICES: &[&str] = &[
    "autoscaling",
    "cloudformation",
    "cloudtrail",
    "cloudwatch",
    "dynamodb",
    "ec2",
    "ecr",
    "ecs",
    "elasticloadbalancing",
    "events",
    "iam",
    "kinesis",
    "kms",
    "lambda",
    "logs",
    "rds",
    "route53",
    "s3",
    "sns",
    "sqs",
    "ssm",
    "states",
];
