# Values for the resources of terraform/modules/ec2-fleet whose format the provider checks even under
# a mock, so that any test that applies a module holding a fleet (ec2-fleet's own, the collector's,
# the enricher's) can: an Auto Scaling group takes only a launch template id that starts with lt-,
# and a launch template only an instance profile ARN.

mock_resource "aws_launch_template" {
  defaults = {
    id             = "lt-0123456789abcdef0"
    latest_version = 1
  }
}

mock_resource "aws_iam_instance_profile" {
  defaults = {
    arn = "arn:aws:iam::111122223333:instance-profile/terraform-test"
  }
}
