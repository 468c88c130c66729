"""APScheduler jobs: fire due BPMN timers on the one clock."""
