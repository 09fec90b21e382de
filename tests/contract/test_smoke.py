from tests.conftest import Client


async def test_test_connection_probe_answers_empty_list(client: Client) -> None:
    reply = await client.get('/scim/v2/Users?filter=userName eq "cf4d78e8-cc4f-4d5d-b8b9-183561c0104a"')
    assert reply.status == 200, reply.body
    assert reply.json["totalResults"] == 0
