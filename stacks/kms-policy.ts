/**
 * The cluster key's policy. The default policy lets any principal of the account do anything with
 * the key, as far as its IAM policies allow. This one lets the account administer the key but use
 * it only through EC2 (EBS volumes) in the cluster's region, and, with flow logs on, lets CloudWatch
 * Logs use it for that one log group.
 */
export interface KeyPolicyContext {
  partition: string;
  accountId: string;
  region: string;
  /** The flow log group's name, when flow logs are on. */
  flowLogGroup?: string;
}

/** Key management without use: no Encrypt, Decrypt or GenerateDataKey here. */
export const KEY_ADMIN_ACTIONS = [
  'kms:Create*',
  'kms:Describe*',
  'kms:Enable*',
  'kms:List*',
  'kms:Put*',
  'kms:Update*',
  'kms:Revoke*',
  'kms:Disable*',
  'kms:Get*',
  'kms:Delete*',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
  'kms:RotateKeyOnDemand',
];

/** What EC2 does with the key for an encrypted EBS volume, on behalf of the principal launching it. */
export const EBS_USE_ACTIONS = ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:CreateGrant', 'kms:DescribeKey'];

export function clusterKeyPolicy(ctx: KeyPolicyContext): Record<string, unknown> {
  const account = `arn:${ctx.partition}:iam::${ctx.accountId}:root`;
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'AccountAdministersTheKey', Effect: 'Allow', Principal: { AWS: account }, Action: KEY_ADMIN_ACTIONS, Resource: '*' },
      {
        Sid: 'AccountUsesItOnlyThroughEc2',
        Effect: 'Allow',
        Principal: { AWS: account },
        Action: EBS_USE_ACTIONS,
        Resource: '*',
        Condition: { StringEquals: { 'kms:ViaService': `ec2.${ctx.region}.amazonaws.com`, 'kms:CallerAccount': ctx.accountId } },
      },
      ...(ctx.flowLogGroup
        ? [
            {
              Sid: 'CloudWatchLogsEncryptsTheFlowLogGroup',
              Effect: 'Allow',
              Principal: { Service: `logs.${ctx.region}.amazonaws.com` },
              Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
              Resource: '*',
              Condition: {
                ArnEquals: { 'kms:EncryptionContext:aws:logs:arn': `arn:${ctx.partition}:logs:${ctx.region}:${ctx.accountId}:log-group:${ctx.flowLogGroup}` },
              },
            },
          ]
        : []),
    ],
  };
}
