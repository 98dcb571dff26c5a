/**
 * millrace's own AWS API calls (the AWS SDK for JavaScript v3): the credentials check before
 * terraform runs, and what `down` reads back afterwards. Terraform does all the creating and
 * destroying. The SDK takes credentials, region and endpoint (AWS_ENDPOINT_URL, e.g. an emulator)
 * from the same environment terraform does.
 */
import { DescribeInstancesCommand, DescribeSecurityGroupsCommand, DescribeVolumesCommand, DescribeVpcsCommand, EC2Client, type Filter } from '@aws-sdk/client-ec2';
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { MillraceError } from '../../lib/errors';
import { TAG_CLUSTER } from '../../stacks/tags';

// The SDK warns on every run that its releases after January 2027 need Node 22. The versions in
// package-lock.json run on Node 20, which this project targets; the warning is for whoever
// upgrades the SDK, not for a user running a command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface CallerIdentity {
  account: string;
  arn: string;
}

const NO_CREDENTIALS = /CredentialsProviderError|Could not load credentials/i;
const BAD_CREDENTIALS = /InvalidClientTokenId|SignatureDoesNotMatch|UnrecognizedClientException|ExpiredToken|AccessDenied|AuthFailure|InvalidAccessKeyId/;
const CREDENTIALS_HINT = 'set AWS_PROFILE (with `aws configure` or `aws sso login` done), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, for the account to deploy into';

/** STS GetCallerIdentity: do the credentials terraform will use work? Each failure says which way it failed. */
export async function checkCredentials(region: string): Promise<CallerIdentity> {
  const sts = new STSClient({ region, maxAttempts: 2 });
  try {
    const r = await sts.send(new GetCallerIdentityCommand({}));
    return { account: r.Account ?? '?', arn: r.Arn ?? '?' };
  } catch (error) {
    const e = error as Error & { name?: string; Code?: string };
    const what = `${e.name ?? ''} ${e.Code ?? ''} ${e.message}`;
    if (NO_CREDENTIALS.test(what)) throw new MillraceError('no AWS credentials found: the aws target needs them to create the cluster', { hint: CREDENTIALS_HINT });
    if (BAD_CREDENTIALS.test(what)) throw new MillraceError(`AWS rejected the credentials: ${e.message}`, { hint: `check them, or renew them if they expired; ${CREDENTIALS_HINT}` });
    throw new MillraceError(`cannot check the AWS credentials with STS GetCallerIdentity: ${e.message}`, {
      hint: `check network access to AWS${process.env.AWS_ENDPOINT_URL ? ` (AWS_ENDPOINT_URL is ${process.env.AWS_ENDPOINT_URL})` : ''}, then run the command again`,
      cause: error,
    });
  } finally {
    sts.destroy();
  }
}

/** What is left of a cluster in the account after a destroy: anything but a key waiting out its deletion window is a problem. */
export interface Leftovers {
  instances: string[];
  volumes: string[];
  securityGroups: string[];
  vpcs: string[];
  /** The disks' KMS key: AWS keeps a deleted key for its deletion window, then removes it. */
  kmsKey?: { id: string; state: string; deletionDate?: Date };
}

export async function findLeftovers(region: string, cluster: string, kmsKeyArn?: string): Promise<Leftovers> {
  const ec2 = new EC2Client({ region, maxAttempts: 3 });
  const kms = new KMSClient({ region, maxAttempts: 3 });
  const tagged: Filter[] = [{ Name: `tag:${TAG_CLUSTER}`, Values: [cluster] }];
  try {
    const reservations = (await ec2.send(new DescribeInstancesCommand({ Filters: tagged }))).Reservations ?? [];
    const instances = reservations.flatMap((r) => r.Instances ?? []).filter((i) => i.State?.Name !== 'terminated').map((i) => `${i.InstanceId} (${i.State?.Name})`);
    const volumes = ((await ec2.send(new DescribeVolumesCommand({ Filters: tagged }))).Volumes ?? []).map((v) => `${v.VolumeId} (${v.State})`);
    const securityGroups = ((await ec2.send(new DescribeSecurityGroupsCommand({ Filters: tagged }))).SecurityGroups ?? []).map((g) => `${g.GroupId} (${g.GroupName})`);
    const vpcs = ((await ec2.send(new DescribeVpcsCommand({ Filters: tagged }))).Vpcs ?? []).map((v) => `${v.VpcId}`);
    let kmsKey: Leftovers['kmsKey'];
    if (kmsKeyArn) {
      const meta = (await kms.send(new DescribeKeyCommand({ KeyId: kmsKeyArn }))).KeyMetadata;
      if (meta && meta.KeyState !== undefined) kmsKey = { id: meta.KeyId ?? kmsKeyArn, state: meta.KeyState, ...(meta.DeletionDate ? { deletionDate: meta.DeletionDate } : {}) };
    }
    return { instances, volumes, securityGroups, vpcs, ...(kmsKey ? { kmsKey } : {}) };
  } finally {
    ec2.destroy();
    kms.destroy();
  }
}
