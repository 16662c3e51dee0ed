def test_merchant_creates_an_account(merchant_api, merchant):
    response = merchant_api.post("/api/v1/merchant/accounts", {"handle": "lin", "kind": "koe", "display_name": "Lin"}, format="json")
    assert response.status_code == 201, response.content
    assert merchant.accounts.filter(handle="lin").exists()
