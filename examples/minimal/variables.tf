variable "name" {
  description = "Resource name prefix."
  type        = string
  default     = "webhooks-minimal"
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}
