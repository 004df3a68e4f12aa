# What the RT window tests need from RT's own Perl API (run as RT's server user).
#   setup ZONE_USER=ZONE ...    queue PollWindows; a user per ZONE_USER (Timezone ZONE, "-"
#                               for none) with the rights Modest needs on that queue only
#   backdate ID=UPDATED[,CREATED] ...     a ticket's LastUpdated and Created (UTC,
#                               YYYY-MM-DDTHH:MM:SS; Created defaults to LastUpdated)
#   read ZONE VALUE ...         the Unix time RT makes of each TicketSQL date in ZONE
#   requestors-reply QUEUE      a ticket's requestors may reply to it by mail in QUEUE
#                               (the right ReplyToTicket of the Requestor role there)
use strict; use warnings;
use lib '/usr/local/share/request-tracker5/lib', '/usr/share/request-tracker5/lib';
use RT;
RT::LoadConfig();
RT::Init();
my $sys = RT->SystemUser;
sub check { my ($ok, $msg) = @_; die "rt_admin: $msg\n" unless $ok; }
my ($mode, @args) = @ARGV;

if ($mode eq 'setup') {
    my $password = $ENV{RT_IT_PASSWORD};
    my $queue = RT::Queue->new($sys);
    $queue->Load('PollWindows');
    check($queue->Create(Name => 'PollWindows')) unless $queue->id;
    for my $arg (@args) {
        my ($login, $zone) = split /=/, $arg, 2;
        $zone = '' if $zone eq '-';
        my $user = RT::User->new($sys);
        $user->Load($login);
        check($user->Create(Name => $login, Privileged => 1, Password => $password))
            unless $user->id;
        check($user->SetTimezone($zone)) if ($user->Timezone // '') ne $zone;
        for my $right (qw(SeeQueue ShowTicket ModifyTicket ShowTicketComments)) {
            next if $user->PrincipalObj->HasRight(Right => $right, Object => $queue);
            check($user->PrincipalObj->GrantRight(Right => $right, Object => $queue));
        }
    }
}
elsif ($mode eq 'backdate') {
    for my $arg (@args) {
        my ($id, $dates) = split /=/, $arg, 2;
        my ($updated, $created) = map { s/T/ /r } split /,/, $dates;
        my $ticket = RT::Ticket->new($sys);
        $ticket->Load($id);
        check($ticket->id, "no ticket $id");
        # __Set writes the column as given: _Set would stamp LastUpdated with now.
        check($ticket->__Set(Field => 'Created', Value => $created // $updated));
        check($ticket->__Set(Field => 'LastUpdated', Value => $updated));
    }
}
elsif ($mode eq 'read') {
    my ($zone, @values) = @args;
    RT->Config->Set(Timezone => $zone);  # the system user has no zone of its own
    for my $value (@values) {
        my $date = RT::Date->new($sys);
        $date->Set(Format => 'unknown', Value => $value);
        print $date->Unix, "\n";
    }
}
elsif ($mode eq 'requestors-reply') {
    my ($name) = @args;
    my $queue = RT::Queue->new($sys);
    $queue->Load($name);
    check($queue->id, "no queue $name");
    my $role = $queue->RoleGroup('Requestor');
    check($role && $role->id, "queue $name has no Requestor role group");
    check($role->PrincipalObj->GrantRight(Right => 'ReplyToTicket', Object => $queue))
        unless $role->PrincipalObj->HasRight(Right => 'ReplyToTicket', Object => $queue);
}
else { die "rt_admin: unknown mode $mode\n"; }
print "ok\n";
