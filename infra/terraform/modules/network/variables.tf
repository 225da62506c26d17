variable "name" {
  description = "Name of the VPC; also the prefix of every resource name and Name tag in this module."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.name))
    error_message = "name must be 3-40 characters of lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "cidr" {
  description = "IPv4 CIDR block of the VPC (a /16 to /24 private range)."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr, 0)) && tonumber(split("/", var.cidr)[1]) >= 16 && tonumber(split("/", var.cidr)[1]) <= 24
    error_message = "cidr must be a valid IPv4 CIDR block with a prefix length between /16 and /24."
  }
}

variable "azs" {
  description = "Availability zones, one per subnet pair, in order. Empty: the first available zones of the region, as many as there are private subnets."
  type        = list(string)
  default     = []
}

variable "public_subnets" {
  description = "CIDR blocks of the public subnets (load balancers and NAT gateways), one per availability zone, at least two."
  type        = list(string)
  default     = ["10.0.96.0/22", "10.0.100.0/22"]

  validation {
    condition     = length(var.public_subnets) >= 2 && alltrue([for c in var.public_subnets : can(cidrhost(c, 0))])
    error_message = "public_subnets must hold at least two valid IPv4 CIDR blocks (one per availability zone)."
  }
}

variable "private_subnets" {
  description = "CIDR blocks of the private subnets (EKS nodes, RDS, ElastiCache), one per availability zone, at least two."
  type        = list(string)
  default     = ["10.0.0.0/19", "10.0.32.0/19"]

  validation {
    condition     = length(var.private_subnets) >= 2 && alltrue([for c in var.private_subnets : can(cidrhost(c, 0))])
    error_message = "private_subnets must hold at least two valid IPv4 CIDR blocks (one per availability zone)."
  }
}

variable "enable_nat_gateway" {
  description = "Give the private subnets outbound internet access through NAT gateways."
  type        = bool
  default     = true
}

variable "single_nat_gateway" {
  description = "One shared NAT gateway instead of one per availability zone: cheaper, but outbound traffic of every AZ depends on one AZ."
  type        = bool
  default     = false
}

variable "enable_flow_log" {
  description = "Record VPC flow logs to a KMS-encrypted CloudWatch Logs group."
  type        = bool
  default     = true
}

variable "flow_log_traffic_type" {
  description = "Traffic the flow log records: ACCEPT, REJECT or ALL."
  type        = string
  default     = "ALL"

  validation {
    condition     = contains(["ACCEPT", "REJECT", "ALL"], var.flow_log_traffic_type)
    error_message = "flow_log_traffic_type must be ACCEPT, REJECT or ALL."
  }
}

variable "flow_log_retention_in_days" {
  description = "Days CloudWatch Logs keeps the flow log (a value CloudWatch accepts; 365 or more for audit)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_in_days)
    error_message = "flow_log_retention_in_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "flow_log_kms_key_arn" {
  description = "ARN of an existing KMS key for the flow log group; null creates one (with rotation) whose policy admits CloudWatch Logs."
  type        = string
  default     = null
}

variable "public_subnet_tags" {
  description = "Extra tags for the public subnets (the example adds kubernetes.io/role/elb = 1)."
  type        = map(string)
  default     = {}
}

variable "private_subnet_tags" {
  description = "Extra tags for the private subnets (the example adds kubernetes.io/role/internal-elb = 1)."
  type        = map(string)
  default     = {}
}

variable "vpc_tags" {
  description = "Extra tags for the VPC only."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags for every resource of this module."
  type        = map(string)
  default     = {}
}
