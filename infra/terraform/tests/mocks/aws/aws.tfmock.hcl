# Data every module's tests read from the mocked AWS provider: one account, in
# eu-west-1, with three availability zones. Each test file loads it with
#
#   mock_provider "aws" {
#     source = "../../tests/mocks/aws"   # relative to the module (or example) root
#   }
#
# and adds, inline, only what its own assertions compare against (a generated
# password, an endpoint); an inline block replaces this file's for that type.

mock_data "aws_caller_identity" {
  defaults = { account_id = "123456789012" }
}

mock_data "aws_partition" {
  defaults = { partition = "aws" }
}

mock_data "aws_region" {
  defaults = { name = "eu-west-1" }
}

mock_data "aws_availability_zones" {
  defaults = { names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"] }
}

# Policy documents are rendered by the provider; the mock renders an empty one.
mock_data "aws_iam_policy_document" {
  defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
}
