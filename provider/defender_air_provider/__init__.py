"""Provider implementation of pulumi-defender-air: settings, API clients, resource handlers and fakes."""
