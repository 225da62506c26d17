terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # >= 5.81: aws_iam_openid_connect_provider without thumbprint_list
      # (needs no TLS provider); access_config needs >= 5.33.
      version = ">= 5.81"
    }
  }
}
