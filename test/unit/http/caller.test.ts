import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { callerOf } from '#http/caller.ts';

const withAuthorizer = (authorizer: unknown) =>
  ({ requestContext: { authorizer } }) as unknown as Pick<APIGatewayProxyEventV2, 'requestContext'>;

describe('the caller of an API request', () => {
  it('is the IAM principal API Gateway authenticated, keyed by its role', () => {
    assert.deepEqual(
      callerOf(
        withAuthorizer({
          iam: { userId: 'AROAEXAMPLE:monday', userArn: 'arn:aws:sts::1:assumed-role/analyst/monday' },
        }),
      ),
      { id: 'AROAEXAMPLE', arn: 'arn:aws:sts::1:assumed-role/analyst/monday' },
    );
  });

  it("is a JWT's issuer and subject with a JWT authorizer", () => {
    assert.deepEqual(
      callerOf(withAuthorizer({ jwt: { claims: { iss: 'https://idp.example/', sub: 'u-42' } } })),
      {
        id: 'jwt:https://idp.example/#u-42',
        arn: 'https://idp.example/#u-42',
      },
    );
  });

  it('is nobody on an open route, or when the claims name no subject', () => {
    assert.equal(callerOf(withAuthorizer(undefined)), undefined);
    assert.equal(callerOf(withAuthorizer({ jwt: { claims: { iss: 'x' } } })), undefined);
    assert.equal(callerOf({} as Pick<APIGatewayProxyEventV2, 'requestContext'>), undefined);
  });
});
