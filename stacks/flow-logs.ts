/**
 * Optional VPC flow logs (aws.flowLogs: true): every accepted and rejected connection of the VPC
 * to a CloudWatch Logs group, kept a year and encrypted with the cluster key, written by a role
 * only the flow logs service of this account can assume and that may write only to that group.
 */
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { FlowLog } from '@cdktf/provider-aws/lib/flow-log';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import type { Construct } from 'constructs';
import type { ClusterConfig } from '../lib/config';
import { tagsFor } from './tags';

export const FLOW_LOG_RETENTION_DAYS = 365;

export function flowLogGroupName(config: ClusterConfig): string {
  return `/millrace/${config.name}/vpc-flow-logs`;
}

export function vpcFlowLogs(scope: Construct, config: ClusterConfig, ctx: { vpcId: string; keyArn: string; accountId: string; partition: string }): FlowLog {
  const tags = (suffix: string) => tagsFor(config, 'network', `${config.name}-${suffix}`);
  const group = new CloudwatchLogGroup(scope, 'flow-log-group', {
    name: flowLogGroupName(config),
    retentionInDays: FLOW_LOG_RETENTION_DAYS,
    kmsKeyId: ctx.keyArn,
    tags: tags('flow-logs'),
  });
  const role = new IamRole(scope, 'flow-log-role', {
    name: `millrace-${config.name}-flow-logs`,
    description: `millrace ${config.name}: lets VPC flow logs write to ${flowLogGroupName(config)}`,
    assumeRolePolicy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'vpc-flow-logs.amazonaws.com' },
          Action: 'sts:AssumeRole',
          // Only on this account's behalf (the confused-deputy guard).
          Condition: { StringEquals: { 'aws:SourceAccount': ctx.accountId } },
        },
      ],
    }),
    tags: tags('flow-logs'),
  });
  new IamRolePolicy(scope, 'flow-log-role-policy', {
    name: 'write-flow-logs',
    role: role.id,
    policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
          Resource: [`${group.arn}:*`],
        },
        {
          Effect: 'Allow',
          Action: ['logs:DescribeLogGroups'],
          Resource: [`arn:${ctx.partition}:logs:${config.aws.region}:${ctx.accountId}:log-group:*`],
        },
      ],
    }),
  });
  return new FlowLog(scope, 'flow-log', {
    vpcId: ctx.vpcId,
    trafficType: 'ALL',
    logDestinationType: 'cloud-watch-logs',
    logDestination: group.arn,
    iamRoleArn: role.arn,
    tags: tags('flow-logs'),
  });
}
