"""Actions a person can run from Slack: rollback, retrain, silence, acknowledge."""
